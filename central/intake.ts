import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { Logger } from 'auraison-edge/log';
import { errorText, redactUrl } from 'auraison-edge/util';
import { readTlsFiles } from 'auraison-edge/protocol';
import type { CentralServeConfig } from './config.ts';
import { noDelay } from 'auraison-edge/protocol';

/** A message's handler: resolves with the PUBACK reason code (0 taken; 0x80 and up refused) once it is safe. */
export type Handler = (topic: string, payload: Buffer, packet: IPublishPacket) => Promise<number>;

/** Reason codes a PUBACK may carry (MQTT 5, 3.4.2.1). */
const PUBACK_CODES = new Set([0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);

interface Deferred {
  messageId: number;
  connection: number;
  code: number | undefined;
}

/**
 * The PUBACKs held back, in the order their messages came, each found by its message id (a broker may send thousands
 * before the commit that acknowledges them: a search of the line for each would cost its length).
 */
class HeldAcks {
  #line: Deferred[] = [];
  #head = 0;
  readonly #byId = new Map<number, Deferred>();

  push(d: Deferred): void {
    this.#line.push(d);
    this.#byId.set(d.messageId, d);
  }

  has(messageId: number): boolean {
    return this.#byId.has(messageId);
  }

  /** Takes from the head of the line those whose handlers are done. */
  *ready(): Generator<Deferred> {
    while (this.#head < this.#line.length && this.#line[this.#head]!.code !== undefined) {
      const d = this.#line[this.#head++]!;
      if (this.#byId.get(d.messageId) === d) this.#byId.delete(d.messageId);
      yield d;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#line.length) {
      this.#line = this.#line.slice(this.#head);
      this.#head = 0;
    }
  }
}

type SendPacket = (packet: Packet, cb?: () => void, cbStorePut?: () => void, noStore?: boolean) => void;

/**
 * central serve's MQTT 5 client: a persistent session (clean start off, a stable client id), the fleet's
 * topics, and PUBACKs only once a message is safe, with many messages handled at once. mqtt.js handles
 * QoS 1 messages one at a time when acknowledgements are custom (customHandleAcks): the next is read only
 * once the PUBACK of this one went, so a commit every 200 ms would take one message per commit. Here each
 * message is handed to its handler at once and its PUBACK held back: mqtt.js's `_sendPacket` is wrapped,
 * a PUBACK of a held message goes out only once its handler resolved and every message received before it
 * was acknowledged (MQTT 5, 4.6: PUBACKs in the order the PUBLISHes came). The broker sends no more than
 * its in-flight window meanwhile. Held PUBACKs of a connection that closed are dropped: the broker sends
 * those messages again (to this session, or to another member of a shared subscription).
 */
export class FleetIntake {
  readonly #client: MqttClient;
  readonly #log: Logger;
  readonly #url: string;
  readonly #send: SendPacket;
  #connection = 0;
  #held = new HeldAcks();
  #connected = false;
  #lastError: string | undefined;
  #closed = false;
  readonly counts = { messages: 0, refused: 0 };

  constructor(o: {
    mqtt: CentralServeConfig['mqtt'];
    clientId: string;
    subscriptions: string[];
    handler: Handler;
    log: Logger;
    onConnect?: () => void;
  }) {
    const { mqtt: m, clientId, subscriptions, handler, log } = o;
    this.#log = log;
    this.#url = m.url;
    const tls = readTlsFiles({ ca_file: m.ca_file, cert_file: m.cert_file, key_file: m.key_file });
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId,
      clean: false,
      keepalive: m.keepalive_s,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      properties: { sessionExpiryInterval: m.session_expiry_s, receiveMaximum: m.receive_maximum },
      resubscribe: false,
      customHandleAcks: (topic, message, packet, done) => {
        this.#take(topic, message, packet as IPublishPacket, handler);
        done(0);
      },
      ...(m.username ? { username: m.username } : {}),
      ...(m.password ? { password: m.password } : {}),
      ...tls,
    };
    this.#client = mqtt.connect(m.url, options);
    const client = this.#client as unknown as { _sendPacket: SendPacket };
    this.#send = client._sendPacket.bind(this.#client);
    client._sendPacket = (packet, cb, cbStorePut, noStore) => {
      const held = packet.cmd === 'puback' && this.#held.has(packet.messageId!);
      if (!held) return this.#send(packet, cb, cbStorePut, noStore);
      cb?.(); // mqtt.js reads the next packet; the PUBACK goes in #release
    };
    this.#client.on('connect', (connack) => {
      noDelay(this.#client);
      this.#connected = true;
      this.#lastError = undefined;
      this.#log.info(
        { url: redactUrl(m.url), client_id: clientId, session_present: connack.sessionPresent },
        'central serve: connected to the broker',
      );
      this.#client.subscribe(
        Object.fromEntries(subscriptions.map((t) => [t, { qos: 1 as const }])),
        (error, granted) => {
          const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
          if (error || refused.length > 0) {
            this.#lastError = `the broker refused the subscription to ${refused.join(', ') || subscriptions.join(', ')}${error ? `: ${error.message}` : ''}`;
            this.#log.error({ err: this.#lastError }, 'central serve: subscribing failed');
          }
          o.onConnect?.();
        },
      );
    });
    this.#client.on('close', () => {
      if (this.#connected && !this.#closed)
        this.#log.warn({ url: redactUrl(m.url) }, 'central serve: the broker connection closed');
      this.#connected = false;
      this.#connection++;
      this.#held = new HeldAcks();
    });
    this.#client.on('error', (error) => {
      if (error.message !== this.#lastError)
        this.#log.warn({ url: redactUrl(m.url), err: error.message }, 'central serve: broker problem');
      this.#lastError = error.message;
    });
    this.#client.on('message', (topic, payload, packet) => {
      if (packet.qos === 0) void handler(topic, payload, packet).catch(() => undefined);
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Publishes at QoS 1 (grants, stored, rejected), with a command's signature; resolves on the broker's PUBACK. */
  publish(topic: string, payload: string, userProperties: Record<string, string> = {}): Promise<void> {
    // mqtt.js writes an empty userProperties as a malformed packet: the broker drops the connection.
    const properties = {
      contentType: 'application/json',
      ...(Object.keys(userProperties).length > 0 ? { userProperties } : {}),
    };
    return new Promise((resolve, reject) => {
      this.#client.publish(topic, payload, { qos: 1, properties }, (error) =>
        error ? reject(new Error(`publishing on ${topic} failed: ${error.message}`)) : resolve(),
      );
    });
  }

  /**
   * A probe's publish (sender-proof.ts): QoS 1, not retained, expiring in 10 s, so a broker that takes it keeps
   * nothing. Resolves with the PUBACK's reason code, a refusal (0x80 and up) included; rejects when the broker gave
   * none (not connected, the connection lost).
   */
  probe(topic: string, payload: string): Promise<number> {
    if (!this.#connected) return Promise.reject(new Error('not connected to the broker'));
    const properties = { contentType: 'application/json', messageExpiryInterval: 10 };
    return new Promise((resolve, reject) => {
      this.#client.publish(topic, payload, { qos: 1, retain: false, properties }, (error, packet) => {
        if (!error) return resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0);
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number') resolve(code);
        else reject(error);
      });
    });
  }

  #take(topic: string, payload: Buffer, packet: IPublishPacket, handler: Handler): void {
    this.counts.messages++;
    const deferred: Deferred = { messageId: packet.messageId!, connection: this.#connection, code: undefined };
    this.#held.push(deferred);
    const settle = (code: number): void => {
      deferred.code = PUBACK_CODES.has(code) ? code : 0x80;
      if (deferred.code >= 0x80) this.counts.refused++;
      this.#release();
    };
    handler(topic, payload, packet).then(settle, (error: unknown) => {
      this.#log.error({ err: errorText(error), topic }, 'central serve: handling a message failed');
      settle(0x80);
    });
  }

  /** Sends the PUBACKs at the head of the line whose handlers are done, in the order the messages came. */
  #release(): void {
    for (const d of this.#held.ready()) {
      if (d.connection !== this.#connection || !this.#connected) continue;
      this.#send({ cmd: 'puback', messageId: d.messageId, reasonCode: d.code } as Packet);
    }
  }

  /** Disconnects; what was not acknowledged is sent again by the broker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = new HeldAcks();
    await new Promise<void>((resolve) => {
      const backstop = setTimeout(() => {
        this.#client.stream?.destroy();
        resolve();
      }, 1000);
      // Not connected yet (a stop right after the start): mqtt.js would queue its DISCONNECT until the CONNACK and
      // keep the socket it then opens, holding the process up to the broker's keep-alive. Nothing is in flight.
      this.#client.end(!this.#connected, {}, () => {
        clearTimeout(backstop);
        resolve();
      });
    });
  }

  get url(): string {
    return redactUrl(this.#url);
  }
}
