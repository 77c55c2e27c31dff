import type { AddressInfo } from 'node:net';
import wsProtocol, { type ChannelId, type IWebSocket, type StatusLevel as Level } from '@foxglove/ws-protocol';
import { WebSocketServer } from 'ws';
import type { Subscription } from '../bus/bus.ts';
import { MessageCodec } from '../bus/codec.ts';
import { compileTopicSelection } from '../bus/glob.ts';
import { isLoopbackHost } from '../api/auth.ts';
import type { FoxgloveSettings } from '../config/sections/api.ts';
import type { MetricFamily, MetricsProvider } from '../contract/services.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/component.ts';
import type { Logger } from '../log.ts';
import { binaryOpcode, describeBadFrame, unofferedOp } from './client-frames.ts';
import { ClientKeepalive } from './client-keepalive.ts';
import { GuardedSocket } from './guarded-socket.ts';
import { originAllowed } from './origin-check.ts';
import { EVENTS_TOPIC, JOURNAL_RECORD_SCHEMA, messageFrame } from './server-frames.ts';
import { findPolicyHooks, PublishGate } from './publish-gate.ts';
import { PublishQueues } from './publish-queue.ts';
import { Throttle } from './throttle.ts';

export { EVENTS_TOPIC } from './server-frames.ts';

const { FoxgloveServer, StatusLevel } = wsProtocol;
type Server = InstanceType<typeof FoxgloveServer>;

interface ChannelState {
  topic: string;
  latched: boolean;
  sub: Subscription | undefined;
  /** The last message of a latched topic, for clients that subscribe after the bus replayed it. */
  last: { logTime: bigint; data: Uint8Array } | undefined;
}

/**
 * What one client makes the daemon say: at most 10 status messages a second to it (a flood is not answered
 * in kind), and a log line for its first bad frame, then at most one per 10 s, each with a count of the rest.
 */
const STATUS_BURST = 10;
const STATUS_INTERVAL_MS = 1000;
const LOG_INTERVAL_MS = 10_000;

export interface FoxgloveBridgeOptions {
  /** Milliseconds, for rates and throttles (performance.now by default); tests step it. */
  now?: () => number;
  /** How often each client is pinged (15 s by default); one that answers none of 3 in a row is cut off (ClientKeepalive). */
  pingIntervalMs?: number;
}

/**
 * Component `foxglove`: a Foxglove WebSocket protocol server (@foxglove/ws-protocol over `ws`). It advertises
 * each selected bus topic with its ros2msg schema and streams the CDR bytes as they are; it subscribes to
 * the bus only while a client watches a topic. The journal goes out as JSON on /auraison/events. Clients may
 * publish only when foxglove.client_publish allows it, through the policy hooks (PublishGate).
 */
export class FoxgloveBridge implements Component, MetricsProvider {
  readonly name = 'foxglove';
  #ctx: ComponentContext;
  #s: FoxgloveSettings;
  #codec: MessageCodec;
  #wss: WebSocketServer | undefined;
  #server: Server | undefined;
  #gate: PublishGate | undefined;
  #channels = new Map<ChannelId, ChannelState>();
  #eventsChannel: ChannelId | undefined;
  #eventsWatched = false;
  #cleanups: (() => void)[] = [];
  #clients = new Set<GuardedSocket>();
  #dropped = 0;
  #sent = 0;
  #unadvertisable = new Map<string, string>();
  #url: string | undefined;
  /** Per client, its publishes waiting for the policy hooks (in order, capped). */
  #queues: PublishQueues | undefined;
  /** Clients told that their publishes are being dropped (until their queue empties). */
  #warned = new WeakSet<object>();
  #log: Logger;
  #now: () => number;
  /** The client whose frame the protocol server is handling: its 'error' event names no client. */
  #current: { socket: GuardedSocket; name: string; data: unknown; failed: boolean } | undefined;
  #statusThrottle: Throttle;
  #logThrottle: Throttle;
  #refusedOrigins = 0;
  /** The log throttle's key for refused origins: one line per interval whatever pages keep trying. */
  #refusedKey = {};
  #pingIntervalMs: number;
  #keepalive: ClientKeepalive | undefined;

  constructor(ctx: ComponentContext, settings: FoxgloveSettings = ctx.config.foxglove, options: FoxgloveBridgeOptions = {}) {
    const { now = () => performance.now(), pingIntervalMs = 15_000 } = options;
    this.#pingIntervalMs = pingIntervalMs;
    this.#ctx = ctx;
    this.#s = settings;
    this.#codec = new MessageCodec(ctx.definitions);
    this.#log = ctx.log.child({ component: 'foxglove' });
    this.#now = now;
    this.#statusThrottle = new Throttle({ intervalMs: STATUS_INTERVAL_MS, burst: STATUS_BURST, now });
    this.#logThrottle = new Throttle({ intervalMs: LOG_INTERVAL_MS, now });
  }

  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<void> {
    const { host, port, allow_remote, client_publish } = this.#s;
    if (!isLoopbackHost(host) && !allow_remote) {
      throw new Error(`foxglove.host is ${host}: the Foxglove protocol has no authentication, so binding off loopback needs foxglove.allow_remote: true`);
    }
    const server = new FoxgloveServer({
      name: `auraison-edge ${this.#ctx.config.robot.id}`,
      capabilities: client_publish.enabled ? ['clientPublish'] : [],
      supportedEncodings: ['cdr', 'json'],
      metadata: { robot: this.#ctx.config.robot.id, fleet: this.#ctx.config.robot.fleet },
    });
    this.#server = server;
    const log = this.#log;
    server.on('error', (error) => {
      const current = this.#current;
      if (current) {
        current.failed = true;
        this.#report(server, current.socket, current.name, StatusLevel.ERROR, describeBadFrame(current.data, error));
      } else log.warn({ err: error.message }, 'foxglove protocol error outside a client frame');
    });
    server.on('subscribe', (id) => this.#watch(id));
    server.on('unsubscribe', (id) => this.#unwatch(id));
    if (client_publish.enabled) this.#enablePublish(server);

    // maxPayload: ws would take 100 MiB per client message by default, held while it waits for the hooks.
    const wss = new WebSocketServer({
      host,
      port,
      maxPayload: this.#s.max_message_bytes,
      handleProtocols: (protocols) => server.handleProtocols(protocols),
      verifyClient: ({ origin, req }, done) => {
        const refusal = this.#refusal(origin, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
        if (refusal) done(false, 403, refusal);
        else done(true);
      },
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', (error: NodeJS.ErrnoException) =>
        reject(new Error(error.code === 'EADDRINUSE' ? `foxglove: ${host}:${port} is in use: set foxglove.port to a free port, or 0 for any` : `foxglove: cannot listen on ${host}:${port}: ${error.message}`)),
      );
    });
    this.#wss = wss;
    const keepalive = new ClientKeepalive({
      intervalMs: this.#pingIntervalMs,
      onDead: (client, missed) => log.warn({ client, missed }, 'foxglove client answered no ping: connection taken for dead and closed'),
    });
    this.#keepalive = keepalive;
    this.#cleanups.push(() => keepalive.stop());
    wss.on('connection', (ws, req) => this.#connect(server, ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`));
    const address = wss.address() as AddressInfo;
    this.#url = `ws://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

    const selected = compileTopicSelection(this.#s.topics.include, this.#s.topics.exclude);
    this.#cleanups.push(this.#ctx.bus.onTopic((topic, type) => selected(topic) && this.#advertise(server, topic, type)));
    this.#eventsChannel = server.addChannel({ topic: EVENTS_TOPIC, encoding: 'json', schemaName: 'auraison_edge/JournalRecord', schema: JOURNAL_RECORD_SCHEMA, schemaEncoding: 'jsonschema' });
    this.#cleanups.push(
      this.#ctx.journal.subscribe((record) => {
        if (this.#eventsWatched) this.#send(this.#eventsChannel!, BigInt(record.ts), new TextEncoder().encode(JSON.stringify(record)));
      }),
    );
    log.info({ url: this.#url, clientPublish: client_publish.enabled }, 'foxglove websocket listening');
  }

  async stop(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    for (const c of this.#channels.values()) if (c.sub) this.#ctx.bus.unsubscribe(c.sub);
    this.#channels.clear();
    this.#eventsWatched = false;
    this.#gate?.close();
    this.#gate = undefined;
    this.#queues?.clear();
    this.#queues = undefined;
    this.#clients.clear();
    const wss = this.#wss;
    this.#wss = undefined;
    this.#server = undefined;
    if (!wss) return;
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  health(): ComponentHealth {
    if (!this.#wss) return { state: 'stopped' };
    const unadvertisable = [...this.#unadvertisable.keys()];
    return {
      state: 'running',
      details: { url: this.#url, clients: this.#clients.size, channels: this.#channels.size, dropped: this.#dropped, ...(unadvertisable.length ? { unadvertisable } : {}) },
    };
  }

  metrics(): MetricFamily[] {
    const gate = this.#gate;
    const families: MetricFamily[] = [
      { name: 'auraison_foxglove_clients', help: 'Foxglove WebSocket clients connected.', type: 'gauge', samples: [{ value: this.#clients.size }] },
      { name: 'auraison_foxglove_messages_sent_total', help: 'Messages handed to Foxglove clients.', type: 'counter', samples: [{ value: this.#sent }] },
      { name: 'auraison_foxglove_dropped_total', help: 'Messages dropped for Foxglove clients whose socket was full.', type: 'counter', samples: [{ value: this.#dropped }] },
      { name: 'auraison_foxglove_refused_origins_total', help: 'WebSocket handshakes refused because the web page\'s origin is not in foxglove.allowed_origins.', type: 'counter', samples: [{ value: this.#refusedOrigins }] },
    ];
    if (gate) {
      const outcomes = { ...gate.counters, dropped: this.#queues?.dropped ?? 0 };
      families.push({
        name: 'auraison_foxglove_client_publish_total',
        help: 'Messages Foxglove clients sent, by outcome (denied: by a policy hook; invalid: not its channel\'s type, or on a channel not advertised; limited: over foxglove.client_publish.max_rate_hz; refused: advertisement refused; dropped: the client had foxglove.client_publish.max_pending waiting).',
        type: 'counter',
        samples: Object.entries(outcomes).map(([outcome, value]) => ({ labels: { outcome }, value })),
      });
      families.push({
        name: 'auraison_foxglove_teleop_stops_total',
        help: 'Stops (zero Twists) the daemon published for a Foxglove client whose last command moved the robot, by why: it disconnected, unadvertised the channel, or sent nothing for foxglove.client_publish.stop_after_ms.',
        type: 'counter',
        samples: Object.entries(gate.stops).map(([reason, value]) => ({ labels: { reason }, value })),
      });
    }
    return families;
  }

  /** Why a handshake from this browser origin is refused (see origin-check.ts), counted and logged (throttled); undefined when allowed. */
  #refusal(origin: string | undefined, client: string): string | undefined {
    if (originAllowed(origin, this.#s.allowed_origins)) return undefined;
    this.#refusedOrigins++;
    const held = this.#logThrottle.take(this.#refusedKey);
    if (held !== undefined) {
      this.#log.warn({ client, origin, held_back: held }, `foxglove: refused a WebSocket from the web page at ${origin}: not in foxglove.allowed_origins (add it there if it is a Foxglove app you use)`);
    }
    return `origin ${origin} is not in foxglove.allowed_origins`;
  }

  #connect(server: Server, ws: import('ws').WebSocket, name: string): void {
    // A client's protocol error (an oversized or malformed frame) is emitted on its socket, which ws then
    // closes (1009, 1002); with no listener the emit would throw in the daemon. It is the peer's fault: log it.
    ws.on('error', (error) => this.#log.warn({ client: name, err: error.message }, 'foxglove client connection error; closed'));
    this.#keepalive?.watch(ws, name);
    let existing = new Set<ChannelId>();
    const socket: GuardedSocket = new GuardedSocket(ws, {
      maxBufferedBytes: this.#s.max_buffered_bytes,
      onDrop: () => this.#dropped++,
      beforeMessage: (data) => {
        // Only a text frame can subscribe (whose latched replay needs what was subscribed before it):
        // binary frames, a teleop panel's messages, skip this.
        if (typeof data === 'string') existing = new Set([...this.#channels].filter(([, c]) => c.sub).map(([id]) => id));
        this.#current = { socket, name, data, failed: false };
      },
      afterMessage: (data) => {
        const failed = this.#current?.failed ?? false;
        this.#current = undefined;
        this.#afterFrame(server, socket, name, data, failed, existing);
      },
      onClose: () => {
        const held = this.#logThrottle.flush(socket);
        if (held > 0) this.#log.warn({ client: name, suppressed: held }, 'foxglove client left; its last refused frames were not logged');
        this.#statusThrottle.flush(socket);
        this.#clients.delete(socket);
        this.#gate?.closeClient(socket);
        this.#queues?.delete(socket);
      },
    });
    this.#clients.add(socket);
    server.handleConnection(socket, name);
  }

  #advertise(server: Server, topic: string, type: string): void {
    let schema: string;
    try {
      schema = this.#ctx.definitions.schemaText(type);
    } catch (error) {
      // A type with no definition cannot be shown; it is reported in health and the log, once.
      if (!this.#unadvertisable.has(topic)) this.#ctx.log.warn({ topic, type, err: (error as Error).message }, 'foxglove: topic not advertised (no message definition)');
      this.#unadvertisable.set(topic, type);
      return;
    }
    const latched = this.#ctx.bus.topicQos(topic)?.durability === 'transient_local';
    const id = server.addChannel({ topic, encoding: 'cdr', schemaName: type, schema, schemaEncoding: 'ros2msg' });
    this.#channels.set(id, { topic, latched, sub: undefined, last: undefined });
  }

  #watch(id: ChannelId): void {
    if (id === this.#eventsChannel) {
      this.#eventsWatched = true;
      return;
    }
    const channel = this.#channels.get(id);
    if (!channel || channel.sub) return;
    channel.sub = this.#ctx.bus.subscribe({
      name: 'foxglove',
      topic: channel.topic,
      queue: { policy: 'drop-oldest', depth: 64 },
      handler: (msg) => {
        if (channel.latched) channel.last = { logTime: msg.logTime, data: msg.data };
        this.#send(id, msg.logTime, msg.data);
      },
    });
  }

  #unwatch(id: ChannelId): void {
    if (id === this.#eventsChannel) {
      this.#eventsWatched = false;
      return;
    }
    const channel = this.#channels.get(id);
    if (!channel?.sub) return;
    this.#ctx.bus.unsubscribe(channel.sub);
    channel.sub = undefined;
  }

  #send(id: ChannelId, timestamp: bigint, data: Uint8Array): void {
    this.#sent++;
    this.#server?.sendMessage(id, timestamp, data);
  }

  /**
   * After the protocol server handled a client frame: an op it ignored for want of a capability is told to
   * the client (the server drops it without a word; one it threw on was told already), and a subscribe
   * gets the latched replay (also when the server threw on a later subscription of the frame).
   */
  #afterFrame(server: Server, socket: GuardedSocket, name: string, data: unknown, failed: boolean, existing: ReadonlySet<ChannelId>): void {
    const tell = (op: unknown) => {
      const unoffered = failed ? undefined : unofferedOp(op, server.capabilities);
      if (unoffered) this.#report(server, socket, name, StatusLevel.ERROR, unoffered);
    };
    if (typeof data !== 'string') {
      tell(binaryOpcode(data));
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return; // reported as the server threw on it
    }
    // A client's frame is untrusted: `null`, or a subscription that is not an object, must not throw here.
    if (typeof message !== 'object' || message === null) return;
    const { op, subscriptions } = message as { op?: unknown; subscriptions?: unknown };
    tell(op);
    if (op === 'subscribe' && Array.isArray(subscriptions)) this.#replayLatched(socket, subscriptions, existing);
  }

  /**
   * A latched topic's last message reaches the first subscriber through the bus (it replays on attach); a
   * client subscribing to a channel already watched gets it here, or it would never see /map.
   */
  #replayLatched(socket: GuardedSocket, subscriptions: readonly unknown[], existing: ReadonlySet<ChannelId>): void {
    for (const subscription of subscriptions) {
      if (typeof subscription !== 'object' || subscription === null) continue;
      const { id, channelId } = subscription as { id?: unknown; channelId?: unknown };
      if (typeof id !== 'number' || typeof channelId !== 'number') continue;
      const channel = this.#channels.get(channelId);
      if (channel?.latched && channel.last && existing.has(channelId)) socket.send(messageFrame(id, channel.last.logTime, channel.last.data));
    }
  }

  /**
   * Tells a client what it did wrong (a status) and logs it, both throttled per client, so a client that
   * repeats a mistake cannot make the daemon send or log more than it does.
   */
  #report(server: Server, client: IWebSocket, name: string, level: Level, problem: string): void {
    this.#tell(server, client, level, problem);
    const held = this.#logThrottle.take(client);
    if (held !== undefined) this.#log.warn({ client: name, problem, ...(held > 0 ? { suppressed: held } : {}) }, 'foxglove client frame refused');
  }

  /** A status to one client, throttled; the first after a pause says how many were held back. */
  #tell(server: Server, client: IWebSocket, level: Level, message: string): void {
    const held = this.#statusThrottle.take(client);
    if (held === undefined) return;
    const more = held > 0 ? ` (and ${held} more problem${held === 1 ? '' : 's'} not reported since the last status)` : '';
    server.sendStatus({ level, message: `${message}${more}` }, client);
  }

  #enablePublish(server: Server): void {
    const gate = new PublishGate({
      bus: this.#ctx.bus,
      codec: this.#codec,
      definitions: this.#ctx.definitions,
      topics: this.#s.client_publish.topics,
      maxChannels: this.#s.client_publish.max_channels,
      hooks: () => findPolicyHooks(this.#ctx.components),
      maxRateHz: this.#s.client_publish.max_rate_hz,
      now: this.#now,
      stopAfterMs: this.#s.client_publish.stop_after_ms,
      onStop: (client, name, topic, reason) => {
        this.#log.warn({ client: name, topic, reason }, 'foxglove client stopped commanding: published a stop (zero Twist)');
        if (reason === 'silent') this.#tell(server, client as IWebSocket, StatusLevel.WARNING, `no command on ${topic} for ${this.#s.client_publish.stop_after_ms} ms (foxglove.client_publish.stop_after_ms): published a stop`);
      },
    });
    this.#gate = gate;
    const queues = new PublishQueues({ maxPending: this.#s.client_publish.max_pending });
    this.#queues = queues;
    const log = this.#log;
    server.on('advertise', (channel) => {
      const result = gate.advertise(channel.client.connection, channel.client.name, channel);
      if (!result.ok) this.#report(server, channel.client.connection, channel.client.name, StatusLevel.ERROR, result.reason);
    });
    server.on('unadvertise', ({ client, channelId }) => gate.unadvertise(client.connection, channelId));
    server.on('message', ({ client, channel, data }) => {
      const key = client.connection;
      const accepted = gate.accept(key, channel.id, data);
      if (!accepted.ok) {
        this.#report(server, key, client.name, accepted.outcome === 'invalid' ? StatusLevel.ERROR : StatusLevel.WARNING, accepted.reason);
        return;
      }
      const { message } = accepted;
      // One client's messages are published in the order sent, even when a hook is asynchronous.
      const queued = queues.push(
        key,
        async () => {
          const result = await gate.publish(key, message);
          for (const f of result.fired) log.info({ client: client.name, topic: channel.topic, ...f }, 'policy hook fired on a foxglove publish');
          if (!result.ok) this.#tell(server, key, StatusLevel.WARNING, result.reason);
        },
        (error: unknown) => log.error({ err: (error as Error).message }, 'foxglove publish failed'),
        { channel: channel.id, stop: message.stop },
      );
      // Told once per burst, not per dropped message: a status always goes out, so one per drop would
      // let the client grow the daemon's send buffer instead.
      if (!queued && !this.#warned.has(key)) {
        this.#warned.add(key);
        log.warn({ client: client.name, topic: channel.topic }, 'foxglove client publishes faster than the policy hooks decide: dropping');
        server.sendStatus({ level: StatusLevel.WARNING, message: `messages on ${channel.topic} dropped: ${this.#s.client_publish.max_pending} already wait for the policy hooks (foxglove.client_publish.max_pending)` }, key);
      }
      if (queued && queues.pending(key) === 1) this.#warned.delete(key);
    });
  }
}
