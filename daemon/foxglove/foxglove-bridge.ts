import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelId } from '@foxglove/ws-protocol';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { foxgloveExposure } from '../config/index.ts';
import { formatIssue, counter, counterBy, gauge } from '../util/index.ts';
import type { FoxgloveSettings } from '../config/index.ts';
import type { MetricFamily, MetricsProvider } from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import type { Logger } from '../log.ts';
import { LogBurst } from '../util/index.ts';
import { BusChannels } from './bus-channels.ts';
import { ClientFeedback } from './client-feedback.ts';
import { ClientAdmission } from './client-admission.ts';
import { binaryOpcode, describeBadFrame, ignoredOp, oversizedList } from './client-frames.ts';
import { ClientKeepalive } from './client-keepalive.ts';
import { ClientPublishing } from './client-publishing.ts';
import { ClientSubscriptions } from './client-subscriptions.ts';
import { GuardedSocket } from './guarded-socket.ts';
import { HandshakeGuard } from './handshake-guard.ts';
import { OriginGuard } from './origin-check.ts';
import { createProtocolServer, StatusLevel, type FoxgloveServer } from './protocol-server.ts';

export { EVENTS_TOPIC } from './server-frames.ts';

export interface FoxgloveBridgeOptions {
  /** Milliseconds, for rates and throttles (performance.now by default); tests step it. */
  now?: () => number;
  /**
   * How often each client is pinged (15 s by default); one that answers none of 3 in a row is cut off
   * (ClientKeepalive).
   */
  pingIntervalMs?: number;
}

/**
 * The fewest items an op's list may hold in one client frame (more when the server has more channels; oversizedList).
 */
const MIN_LIST_ITEMS = 1024;
/** How often a client's connection error (an oversized frame, bad UTF-8) is logged, whoever sends it. */
const CONNECTION_ERROR_LOG_MS = 10_000;
/**
 * How long a connection the daemon closes (a refused client, one that broke the protocol, one whose close it
 * answered) has to finish the close handshake before its socket is destroyed. ws waits 30 s by default, so a
 * peer that never answers the close frame held a socket (a file descriptor) that long for each try.
 */
export const CLOSE_GRACE_MS = 2000;

/** What runs while the bridge is started; all of it goes at `stop`. */
interface Running {
  server: FoxgloveServer;
  http: Server;
  wss: WebSocketServer;
  feedback: ClientFeedback;
  publishing: ClientPublishing | undefined;
  keepalive: ClientKeepalive;
}

/**
 * Component `foxglove`: a Foxglove WebSocket protocol server (@foxglove/ws-protocol over `ws`). It advertises
 * each selected bus topic with its ros2msg schema and streams the CDR bytes as they are (BusChannels); the
 * journal goes out as JSON on /auraison/events. Handshakes from browser pages not in foxglove.allowed_origins
 * are refused (OriginGuard), and so are clients past foxglove.max_clients and handshakes that offer only other
 * subprotocols (ClientAdmission); connections that do not finish their handshake are bounded per address and
 * in time (HandshakeGuard), and one the daemon closes is destroyed CLOSE_GRACE_MS later if it does not answer
 * the close. Clients may publish only when foxglove.client_publish allows it
 * (ClientPublishing). This class owns the sockets: each client's frames are watched so that what the protocol
 * server does not say (a bad frame's cause, an op it ignores) is told to the client, and what it says (a
 * status per item of a list) is throttled (ClientFeedback); a frame whose list is longer than a client's can
 * be never reaches it (oversizedList).
 */
export class FoxgloveBridge implements Component, MetricsProvider {
  readonly name = 'foxglove';
  #ctx: ComponentContext;
  #s: FoxgloveSettings;
  #log: Logger;
  #now: () => number;
  #pingIntervalMs: number;
  #origins: OriginGuard;
  #admission: ClientAdmission;
  #handshakes: HandshakeGuard;
  #connectionErrors: LogBurst<'connection_error'>;
  #channels: BusChannels;
  #running: Running | undefined;
  #clients = new Set<GuardedSocket>();
  #dropped = 0;
  #suppressed = 0;
  #url: string | undefined;
  /** The client whose frame the protocol server is handling: its 'error' event names no client. */
  #current: { socket: GuardedSocket; name: string; data: unknown; failed: boolean } | undefined;

  constructor(
    ctx: ComponentContext,
    settings: FoxgloveSettings = ctx.config.foxglove,
    options: FoxgloveBridgeOptions = {},
  ) {
    const { now = () => performance.now(), pingIntervalMs = 15_000 } = options;
    this.#ctx = ctx;
    this.#s = settings;
    this.#log = ctx.log.child({ component: 'foxglove' });
    this.#now = now;
    this.#pingIntervalMs = pingIntervalMs;
    this.#origins = new OriginGuard({ log: this.#log, now });
    this.#admission = new ClientAdmission({ maxClients: settings.max_clients, log: this.#log, now });
    this.#handshakes = new HandshakeGuard({
      maxPendingPerIp: settings.max_pending_per_ip,
      handshakeTimeoutMs: settings.handshake_timeout_ms,
      log: this.#log,
      now,
    });
    this.#connectionErrors = new LogBurst({ intervalMs: CONNECTION_ERROR_LOG_MS, now });
    this.#channels = new BusChannels({ ctx, include: settings.topics.include, exclude: settings.topics.exclude });
  }

  get url(): string | undefined {
    return this.#url;
  }

  /** What the per-client throttles hold (ClientFeedback.held): 0 once every client left, however many came. */
  get feedbackHeld(): number {
    return this.#running?.feedback.held ?? 0;
  }

  /** Connections whose WebSocket handshake has not arrived whole yet (HandshakeGuard). */
  get pendingHandshakes(): number {
    return this.#handshakes.pending;
  }

  async start(): Promise<void> {
    const { host, allow_remote, client_publish } = this.#s;
    const [exposed] = foxgloveExposure({ host, allow_remote });
    if (exposed) throw new Error(formatIssue(exposed));
    const log = this.#log;
    const server = createProtocolServer(this.#ctx.config.robot, client_publish.enabled);
    const feedback = new ClientFeedback({ server, log, now: this.#now, onSuppressed: () => this.#suppressed++ });
    const channels = this.#channels;
    server.on('error', (error) => {
      const current = this.#current;
      if (current) {
        current.failed = true;
        feedback.report(current.socket, current.name, StatusLevel.ERROR, describeBadFrame(current.data, error));
      } else log.warn({ err: error.message }, 'foxglove protocol error outside a client frame');
    });
    server.on('subscribe', (id) => channels.watch(id));
    server.on('unsubscribe', (id) => channels.unwatch(id));
    const publishing = client_publish.enabled
      ? new ClientPublishing({ ctx: this.#ctx, server, settings: client_publish, feedback, log, now: this.#now })
      : undefined;

    const { http, wss } = await this.#listen(server);
    const keepalive = new ClientKeepalive({
      intervalMs: this.#pingIntervalMs,
      onDead: (client, missed) =>
        log.warn({ client, missed }, 'foxglove client answered no ping: connection taken for dead and closed'),
    });
    const running: Running = { server, http, wss, feedback, publishing, keepalive };
    this.#running = running;
    wss.on('connection', (ws, req) => {
      const name = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      if (!this.#admission.full(ws, this.#clients.size, name)) this.#connect(running, ws, name);
    });
    const address = http.address() as AddressInfo;
    this.#url = `ws://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    channels.open(server);
    log.info({ url: this.#url, clientPublish: client_publish.enabled }, 'foxglove websocket listening');
  }

  async close(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    this.#clients.clear();
    if (!running) return;
    running.keepalive.close();
    this.#channels.close();
    running.publishing?.close();
    running.feedback.close();
    for (const ws of running.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => running.wss.close(() => resolve()));
    // Connections still in their handshake (the WebSocket server holds only the upgraded ones).
    const closed = new Promise<void>((resolve) => running.http.close(() => resolve()));
    running.http.closeAllConnections();
    await closed;
  }

  health(): ComponentHealth {
    const running = this.#running;
    if (!running) return { state: 'stopped' };
    const { size, unadvertisable } = this.#channels;
    return {
      state: 'running',
      details: {
        url: this.#url,
        clients: this.#clients.size,
        max_clients: this.#s.max_clients,
        channels: size,
        dropped: this.#dropped,
        ...(unadvertisable.length ? { unadvertisable } : {}),
      },
    };
  }

  metrics(): MetricFamily[] {
    return [
      gauge('auraison_foxglove_clients', 'Foxglove WebSocket clients connected.', this.#clients.size),
      counter('auraison_foxglove_messages_sent_total', 'Messages handed to Foxglove clients.', this.#channels.sent),
      counter(
        'auraison_foxglove_dropped_total',
        'Messages dropped for Foxglove clients whose socket was full.',
        this.#dropped,
      ),
      counter(
        'auraison_foxglove_refused_origins_total',
        "WebSocket handshakes refused because the web page's origin is not in foxglove.allowed_origins.",
        this.#origins.refused,
      ),
      counterBy(
        'auraison_foxglove_refused_clients_total',
        'Foxglove connections refused, by reason (max_clients: foxglove.max_clients were connected; subprotocol: the handshake offered only other subprotocols; pending_per_ip: its address had foxglove.max_pending_per_ip unfinished handshakes; handshake_timeout: no whole handshake within foxglove.handshake_timeout_ms).',
        'reason',
        { ...this.#admission.refused, ...this.#handshakes.refused },
      ),
      counter(
        'auraison_foxglove_statuses_suppressed_total',
        'Status messages to Foxglove clients held back by the per-client throttle (10 a second of each kind).',
        this.#suppressed,
      ),
      ...(this.#running?.publishing?.metrics() ?? []),
    ];
  }

  /**
   * The WebSocket server on its HTTP server (HandshakeGuard: unfinished handshakes bounded per address and in
   * time), listening; handshakes from web pages not allowed are refused with 403.
   */
  async #listen(server: FoxgloveServer): Promise<{ http: Server; wss: WebSocketServer }> {
    const { host, port } = this.#s;
    const http = this.#handshakes.createServer();
    // maxPayload: ws would take 100 MiB per client message by default, held while it waits for the hooks. closeTimeout:
    // see CLOSE_GRACE_MS (ws 8.23, as package.json requires, takes it; @types/ws 8.18 does not declare it).
    const options: ServerOptions & { closeTimeout: number } = {
      server: http,
      closeTimeout: CLOSE_GRACE_MS,
      maxPayload: this.#s.max_message_bytes,
      handleProtocols: (protocols) => server.handleProtocols(protocols),
      verifyClient: ({ origin, req }, done) => {
        const handshake = {
          origin,
          userAgent: req.headers['user-agent'],
          client: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        };
        const refusal = this.#origins.refusal(handshake, this.#s.allowed_origins);
        if (refusal) return done(false, 403, refusal);
        const protocol = this.#admission.handshake(req.headers['sec-websocket-protocol'], handshake.client);
        if (protocol) return done(false, 400, protocol);
        done(true);
      },
    };
    const wss = new WebSocketServer(options);
    // ws passes on its HTTP server's errors; with no listener the emit would throw. A listen error rejects
    // start (below); one later (accept failing for want of file descriptors) is logged, and the server goes on.
    let listening = false;
    wss.on('error', (error) => listening && this.#log.warn({ err: error.message }, 'foxglove server error'));
    await new Promise<void>((resolve, reject) => {
      http.once('listening', resolve);
      http.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            error.code === 'EADDRINUSE'
              ? `foxglove: ${host}:${port} is in use: set foxglove.port to a free port, or 0 for any`
              : `foxglove: cannot listen on ${host}:${port}: ${error.message}`,
          ),
        ),
      );
      http.listen(port, host);
    });
    listening = true;
    return { http, wss };
  }

  #connect(running: Running, ws: WebSocket, name: string): void {
    const { server, feedback } = running;
    const channels = this.#channels;
    // A client's protocol error (an oversized or malformed frame) is emitted on its socket, which ws then
    // closes (1009, 1002); with no listener the emit would throw in the daemon. It is the peer's fault: log it.
    // Logged once per 10 s whoever sends it, with a count of the rest: a client could reconnect and send one again.
    ws.on('error', (error) => {
      const held = this.#connectionErrors.take('connection_error');
      if (held !== undefined)
        this.#log.warn(
          { client: name, err: error.message, ...(held > 0 ? { suppressed: held } : {}) },
          'foxglove client connection error; closed',
        );
    });
    running.keepalive.watch(ws, name);
    const subscriptions = new ClientSubscriptions();
    let existing = new Set<ChannelId>();
    /** The text frame being handled, parsed once here for #afterFrame. */
    let parsed: { message: unknown } | undefined;
    const socket: GuardedSocket = new GuardedSocket(ws, {
      maxBufferedBytes: this.#s.max_buffered_bytes,
      onDrop: () => this.#dropped++,
      passStatus: (frame) => feedback.pass(socket, frame),
      admit: (data) => {
        parsed = undefined;
        if (typeof data !== 'string') return true;
        try {
          parsed = { message: JSON.parse(data) };
        } catch {
          return true; // the server throws on it, and the client is told
        }
        const problem = oversizedList(parsed.message, Math.max(MIN_LIST_ITEMS, channels.size + 1));
        if (problem) feedback.report(socket, name, StatusLevel.ERROR, problem);
        return problem === undefined;
      },
      beforeMessage: (data) => {
        // Only a text frame can subscribe (whose latched replay needs what was subscribed before it):
        // binary frames, a teleop panel's messages, skip this.
        if (typeof data === 'string') existing = channels.watched();
        this.#current = { socket, name, data, failed: false };
      },
      afterMessage: (data) => {
        const failed = this.#current?.failed ?? false;
        this.#current = undefined;
        this.#afterFrame(running, { socket, name, subscriptions }, data, parsed, failed, existing);
      },
      onClose: () => {
        feedback.left(socket, name);
        this.#clients.delete(socket);
        running.publishing?.closeClient(socket);
      },
    });
    this.#clients.add(socket);
    server.handleConnection(socket, name);
  }

  /**
   * After the protocol server handled a client frame: an op it ignored without a word (for want of a
   * capability, or one it does not know whose name it mistakes for one) is told to the client (one it threw
   * on was told already), the client's subscriptions are followed, and a subscribe gets the latched replay
   * (also when the server threw on a later subscription of the frame).
   */
  #afterFrame(
    running: Running,
    client: { socket: GuardedSocket; name: string; subscriptions: ClientSubscriptions },
    data: unknown,
    parsed: { message: unknown } | undefined,
    failed: boolean,
    existing: ReadonlySet<ChannelId>,
  ): void {
    const { socket, name } = client;
    const tell = (op: unknown) => {
      const ignored = failed ? undefined : ignoredOp(op, running.server.capabilities);
      if (ignored) running.feedback.report(socket, name, StatusLevel.ERROR, ignored);
    };
    if (typeof data !== 'string') {
      tell(binaryOpcode(data));
      return;
    }
    if (!parsed) return; // not JSON: reported as the server threw on it
    const { message } = parsed;
    // A client's frame is untrusted: `null`, or a subscription that is not an object, must not throw here.
    if (typeof message !== 'object' || message === null) return;
    const { op, subscriptions, subscriptionIds } = message as {
      op?: unknown;
      subscriptions?: unknown;
      subscriptionIds?: unknown;
    };
    tell(op);
    if (op === 'subscribe')
      this.#channels.replayLatched(
        socket,
        client.subscriptions.subscribe(subscriptions, (id) => this.#channels.has(id)),
        existing,
      );
    if (op === 'unsubscribe') client.subscriptions.unsubscribe(subscriptionIds);
  }
}
