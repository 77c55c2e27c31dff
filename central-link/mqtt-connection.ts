import mqtt, {
  ReasonCodes,
  type IClientPublishOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { Backoff, errorText, redactUrl } from '../daemon/util/index.ts';
import type { Logger } from '../daemon/log.ts';
import { clientOptions, drained, endClient } from './mqtt-client.ts';
import { describeError, publishPacketBytes } from './mqtt-packets.ts';
import { noDelay } from './no-delay.ts';

export type LinkState = 'connecting' | 'connected' | 'offline' | 'stopped';

export interface MqttConnectionOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  keepaliveS: number;
  connectTimeoutMs: number;
  sessionExpiryS: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Largest packet the broker may send us (MQTT 5 Maximum Packet Size); it drops larger ones. */
  maximumPacketSize: number;
  /** The last will: published by the broker when the link is lost without a DISCONNECT. */
  will: { topic: string; payload: Buffer };
  /**
   * Topic filters subscribed at QoS 1 at every connect, each with its MQTT 5 retain handling (0: the broker
   * sends retained messages at every subscribe; 1: only to a subscription the session did not hold yet);
   * onConnect is called once the broker answered.
   */
  subscriptions: { topic: string; retainHandling: 0 | 1 }[];
  /** Topic filters unsubscribed at every connect (the session may hold them from an earlier config). */
  unsubscriptions: string[];
  /**
   * A message from central. For QoS 1 and 2 the broker is acknowledged (PUBACK, PUBREC) only once this
   * resolves, with its reason code (0: accepted; >= 0x80: refused): at least once means nothing is
   * acknowledged before it is safe. Incoming messages are handled one at a time, in order.
   */
  onMessage: (topic: string, payload: Buffer, packet: IPublishPacket) => Promise<number>;
  onConnect: (connack: IConnackPacket) => void;
  onClose: () => void;
  log: Logger;
  random?: () => number;
}

/** A connection up this long resets the reconnect backoff (as AWS IoT's clients do, after 30 s). */
const STABLE_MS = 30_000;
/** Reason codes a PUBACK may carry (MQTT 5, 3.4.2.1); mqtt.js refuses others. */
const PUBACK_CODES = new Set([0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);

/**
 * One MQTT 5 link to central (mqtt.js), kept up for as long as it runs: a persistent session (Clean Start
 * off, a session expiry), a last will, and reconnects with exponential backoff and jitter (mqtt.js retries
 * at a fixed period, and a fleet coming back after a broker outage must not knock all at once). What the
 * link last failed on is kept in words for health and status. The client's in-flight QoS 1 messages are
 * kept across reconnects and sent again (DUP), so a publish callback fires once the broker has the message.
 */
export class MqttConnection {
  readonly #onMessage: (topic: string, payload: Buffer, packet: IPublishPacket) => Promise<number>;
  readonly #log: Logger;
  readonly #url: string;
  readonly #unsubscriptions: string[];
  readonly #subscriptions: MqttConnectionOptions['subscriptions'];
  readonly #onConnect: (connack: IConnackPacket) => void;
  readonly #onClose: () => void;
  readonly #clientId: string;
  /** Jitter over the upper half: never sooner than half the backoff, so a dead broker is not hammered. */
  readonly #backoff: Backoff;
  #client: MqttClient;
  #state: LinkState = 'connecting';
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #connects = 0;
  #connectionFailures = 0;
  /**
   * When (performance.now) the broker dropped this link for another client with its client id: its DISCONNECT
   * said so (0x8e), or, as mosquitto 2.0 does, it closed the socket without a word soon after taking it.
   */
  readonly #takeovers: number[] = [];
  /** The broker's DISCONNECT reason on this connection, if it sent one before closing it. */
  #disconnectReason: number | undefined;
  #connectedSince: number | undefined;
  #serverMaximumPacketSize: number | undefined;
  #serverReceiveMaximum: number | undefined;
  #reconnectDelayMs: number | undefined;
  #subscriptionProblem: string | undefined;

  constructor(options: MqttConnectionOptions) {
    const {
      onMessage,
      log,
      url,
      unsubscriptions,
      subscriptions,
      onConnect,
      onClose,
      clientId,
      reconnectMinMs,
      reconnectMaxMs,
    } = options;
    this.#onMessage = onMessage;
    this.#log = log;
    this.#url = url;
    this.#unsubscriptions = unsubscriptions;
    this.#subscriptions = subscriptions;
    this.#onConnect = onConnect;
    this.#onClose = onClose;
    this.#clientId = clientId;
    this.#backoff = new Backoff({
      firstMs: reconnectMinMs,
      maxMs: reconnectMaxMs,
      jitter: 0.5,
      random: options.random,
    });
    this.#client = mqtt.connect(
      url,
      clientOptions(options, (topic, message, packet, done) => this.#acknowledge(topic, message, packet, done)),
    );
    this.#client.on('connect', (connack) => {
      noDelay(this.#client);
      this.#connected(connack);
    });
    this.#client.on('close', () => this.#closed());
    this.#client.on('error', (error) => this.#failed(describeError(error)));
    this.#client.on('disconnect', (packet) => this.#disconnectedByBroker(packet));
    // QoS 0 messages reach only 'message'; QoS 1 and 2 were handled in #acknowledge before it is emitted.
    this.#client.on('message', (topic, payload, packet) => {
      if (packet.qos === 0)
        void this.#onMessage(topic, payload, packet).catch((error: unknown) =>
          this.#log.error({ err: errorText(error), topic }, 'central: a message failed'),
        );
    });
  }

  get state(): LinkState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** What the link last failed on (refused, unreachable, dropped), in words; undefined once connected again. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  get connects(): number {
    return this.#connects;
  }

  /**
   * How many times within the last `windowMs` the broker dropped the link for another client with its client id,
   * or (mosquitto says nothing) closed it without a word within 30 s of taking it.
   */
  takeoversWithin(windowMs: number): number {
    const since = performance.now() - windowMs;
    return this.#takeovers.filter((t) => t >= since).length;
  }

  /** The client id the link connects with. */
  get clientId(): string {
    return this.#clientId;
  }

  get connectionFailures(): number {
    return this.#connectionFailures;
  }

  /** Why the broker did not take the last SUBSCRIBE (its ACL), in words; undefined once it took it. */
  get subscriptionProblem(): string | undefined {
    return this.#subscriptionProblem;
  }

  /** The wait before the reconnect now scheduled (or the last one), ms: the backoff as it stands. */
  get reconnectDelayMs(): number | undefined {
    return this.#reconnectDelayMs;
  }

  /** The broker's Maximum Packet Size (CONNACK), if it said one: a larger publish would be refused. */
  get serverMaximumPacketSize(): number | undefined {
    return this.#serverMaximumPacketSize;
  }

  /**
   * The broker's Receive Maximum (CONNACK), if it said one: the most QoS 1 and 2 publishes it takes unacknowledged.
   * mqtt.js does not hold to it; a broker that enforces it (MQTT 5, 3.3.4) disconnects a client that goes over.
   */
  get serverReceiveMaximum(): number | undefined {
    return this.#serverReceiveMaximum;
  }

  /**
   * Publishes at QoS 1; resolves once the broker acknowledged it (PUBACK), rejects if it refused it. A
   * message over the broker's maximum packet size is refused here: the broker would answer it with
   * DISCONNECT, and the client would send it again first at every reconnect, keeping the link down for good.
   */
  publish(
    topic: string,
    payload: Buffer | string,
    options: { retain?: boolean; properties?: IPublishPacket['properties']; qos?: IClientPublishOptions['qos'] } = {},
  ): Promise<void> {
    const max = this.#serverMaximumPacketSize;
    const size = max === undefined ? 0 : publishPacketBytes(topic, payload, options.properties);
    if (max !== undefined && size > max)
      return Promise.reject(
        new Error(
          `a message of about ${size} bytes on ${topic} is over the broker's maximum packet size (${max} bytes); not sent`,
        ),
      );
    return new Promise((resolve, reject) => {
      this.#client.publish(
        topic,
        payload,
        {
          qos: options.qos ?? 1,
          retain: options.retain ?? false,
          ...(options.properties ? { properties: options.properties } : {}),
        },
        (error) => {
          // mqtt.js rejects a PUBACK of 0x80 or more itself ("Publish error: Not authorized"): the topic is added.
          // 0x10 (no matching subscribers) is taken by the broker, so it resolves.
          if (error) return reject(new Error(`the broker did not take the message on ${topic}: ${error.message}`));
          resolve();
        },
      );
    });
  }

  /**
   * Ends the link within about `graceMs`: it waits that long at most for messages in flight to be
   * acknowledged, then sends a clean DISCONNECT (the broker then does not publish the will). A broker that
   * has not acknowledged everything by then (hung, or the link dead under a socket still open) gets no
   * DISCONNECT: the socket is closed under the client, and what was in flight goes again next time.
   */
  async close(graceMs: number): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    const client = this.#client;
    if (client.connected) await drained(client, graceMs);
    const clean = client.connected && Object.keys(client.outgoing).length === 0;
    await endClient(client, clean);
  }

  #acknowledge(
    topic: string,
    message: Buffer,
    packet: IPublishPacket,
    done: (error: Error | number, code?: number) => void,
  ): void {
    this.#onMessage(topic, message, packet).then(
      (code) => done(PUBACK_CODES.has(code) ? code : 0x80),
      (error: unknown) => {
        this.#log.error(
          { err: errorText(error), topic },
          'central: handling a message failed; it is refused (PUBACK 0x80)',
        );
        done(0x80);
      },
    );
  }

  #connected(connack: IConnackPacket): void {
    if (this.#state === 'stopped') return;
    this.#state = 'connected';
    this.#connects++;
    this.#lastError = undefined;
    this.#connectedSince = performance.now();
    this.#serverMaximumPacketSize = connack.properties?.maximumPacketSize;
    this.#serverReceiveMaximum = connack.properties?.receiveMaximum;
    this.#log.info({ url: redactUrl(this.#url), session_present: connack.sessionPresent }, 'central: connected');
    // A persistent session keeps its subscriptions: one this config no longer wants (intents) must go.
    if (this.#unsubscriptions.length > 0) this.#client.unsubscribe(this.#unsubscriptions);
    // Online only once subscribed: what central sends after the online status is not dropped by the broker.
    const filters = this.#subscriptions.map((s) => s.topic);
    if (filters.length === 0) return this.#onConnect(connack);
    const map = Object.fromEntries(
      this.#subscriptions.map((s) => [s.topic, { qos: 1 as const, rh: s.retainHandling }]),
    );
    this.#client.subscribe(map, (error, granted, suback) => {
      if (this.#state !== 'connected') return;
      // mqtt.js fails the whole SUBSCRIBE when the broker refused any filter; the SUBACK says which.
      const refused = (granted ?? [])
        .map((g, i) => ({ topic: g.topic, code: suback?.granted[i] ?? g.qos }))
        .filter((g) => typeof g.code === 'number' && g.code >= 0x80)
        .map(
          (g) =>
            `${g.topic}: ${ReasonCodes[g.code as keyof typeof ReasonCodes] ?? 'refused'} (0x${g.code.toString(16)})`,
        );
      this.#subscriptionProblem =
        refused.length > 0
          ? `the broker refused the subscription to ${refused.join(', ')}, by its ACL for this client`
          : error
            ? `subscribing to ${filters.join(', ')} failed: ${error.message}`
            : undefined;
      if (this.#subscriptionProblem) this.#failed(this.#subscriptionProblem);
      this.#onConnect(connack);
    });
  }

  #closed(): void {
    const wasUp = this.#state === 'connected';
    // The backoff starts over only after a connection that held: one the broker drops at once (another
    // client with this client id taking the session, a broker shedding load) counts as a failed try, so
    // two robots given one robot.id do not take the session from each other every second, for ever.
    const heldMs = performance.now() - (this.#connectedSince ?? Infinity);
    if (wasUp && heldMs >= STABLE_MS) this.#backoff.reset();
    // A twin's connection: said (0x8e), or, by mosquitto 2.0, a silent close of a connection just taken.
    const said = this.#disconnectReason;
    if (wasUp && (said === 0x8e || (said === undefined && heldMs < STABLE_MS))) {
      this.#takeovers.push(performance.now());
      if (this.#takeovers.length > 32) this.#takeovers.shift(); // enough to tell "again and again"
    }
    this.#disconnectReason = undefined;
    this.#connectedSince = undefined;
    if (this.#state === 'stopped') return;
    if (!wasUp) this.#connectionFailures++;
    this.#state = 'offline';
    if (wasUp)
      this.#log.warn(
        { url: redactUrl(this.#url), reason: this.#lastError ?? 'connection closed' },
        'central: link lost; records wait in the journal',
      );
    this.#lastError ??= wasUp ? 'the connection closed' : `could not connect to ${redactUrl(this.#url)}`;
    this.#onClose();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#timer !== undefined || this.#state === 'stopped') return;
    const delay = this.#backoff.next();
    this.#reconnectDelayMs = delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'stopped') return;
      this.#state = 'connecting';
      // Passing the stores keeps the messages in flight: reconnect() with none would start empty ones.
      this.#client.reconnect({
        incomingStore: this.#client.incomingStore,
        outgoingStore: this.#client.outgoingStore,
      } as never);
    }, delay);
    this.#timer.unref?.();
  }

  #failed(reason: string): void {
    if (this.#state === 'stopped') return;
    if (reason !== this.#lastError) this.#log.warn({ url: redactUrl(this.#url), reason }, 'central: link problem');
    this.#lastError = reason;
  }

  #disconnectedByBroker(packet: IDisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const name = ReasonCodes[code as keyof typeof ReasonCodes] ?? 'reason';
    this.#disconnectReason = code;
    const hint =
      code === 0x8e
        ? `: another client with this client id (${JSON.stringify(this.#clientId)}) connected; each robot needs its own robot.id (or central.client_id), and a broker set up by \`auraison-edge central acl\` lets no other login take it`
        : '';
    this.#failed(`the broker disconnected us: ${name} (0x${code.toString(16)})${hint}`);
  }
}
