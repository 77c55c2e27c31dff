import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { LogBurst } from '../util/index.ts';

/** How often refusals of one kind are logged, however fast a peer retries: one line per interval. */
const LOG_INTERVAL_MS = 10_000;
/** How often node looks for connections past the handshake timeout, at most (its default is 30 s). */
const MAX_CHECK_INTERVAL_MS = 1000;

export type HandshakeRefusal = 'pending_per_ip' | 'handshake_timeout';

export interface HandshakeGuardOptions {
  /** Unfinished handshakes one remote address may hold at once (foxglove.max_pending_per_ip). */
  maxPendingPerIp: number;
  /** Time a connection has to send its whole upgrade request (foxglove.handshake_timeout_ms). */
  handshakeTimeoutMs: number;
  log: Logger;
  now: () => number;
}

/**
 * The HTTP server the Foxglove WebSocket server takes its upgrades on, bounded against peers that open
 * connections and never finish the handshake (slowloris). A connection is pending from its first byte until
 * its upgrade request has arrived whole (then `ws` answers or refuses it at once) or it closes:
 *
 * - one remote address may hold at most `maxPendingPerIp` pending connections; one more is destroyed at once,
 *   before node reads a byte of it, so other addresses keep connecting while one is over its cap;
 * - a connection must send its whole request within `handshakeTimeoutMs` of opening (node's headersTimeout and
 *   requestTimeout, checked every second at most instead of node's 30 s), or it gets 408 and is closed; one
 *   that sends nothing at all is closed the same way.
 *
 * Both are counted by reason and logged once per burst (a line, then at most one per 10 s with `held_back`).
 * A plain HTTP request (not an upgrade) gets 426 and `Connection: close`, as `ws`'s own server answers it.
 */
export class HandshakeGuard {
  #maxPerIp: number;
  #timeoutMs: number;
  #log: Logger;
  #throttle: LogBurst<HandshakeRefusal>;
  #refused: Record<HandshakeRefusal, number> = { pending_per_ip: 0, handshake_timeout: 0 };
  /** Pending connections by remote address; an address leaves the map when its last one is done. */
  #pending = new Map<string, number>();
  /** The sockets counted in #pending, each with its address. */
  #counted = new WeakMap<Duplex, string>();

  constructor(options: HandshakeGuardOptions) {
    this.#maxPerIp = options.maxPendingPerIp;
    this.#timeoutMs = options.handshakeTimeoutMs;
    this.#log = options.log;
    this.#throttle = new LogBurst({ intervalMs: LOG_INTERVAL_MS, now: options.now });
  }

  /** Connections refused or cut off so far, by reason. */
  get refused(): Readonly<Record<HandshakeRefusal, number>> {
    return this.#refused;
  }

  /** Connections whose handshake has not arrived whole yet, all addresses together. */
  get pending(): number {
    let total = 0;
    for (const n of this.#pending.values()) total += n;
    return total;
  }

  /** A new HTTP server (not listening) with these bounds; give it to `new WebSocketServer({server})`. */
  createServer(): Server {
    const timeout = this.#timeoutMs;
    const server = createServer(
      {
        headersTimeout: timeout,
        requestTimeout: timeout,
        connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, Math.max(25, Math.floor(timeout / 4))),
      },
      (_req, res) => {
        const body = STATUS_CODES[426]!;
        res.writeHead(426, {
          'Content-Type': 'text/plain',
          'Content-Length': Buffer.byteLength(body),
          Connection: 'close',
        });
        res.end(body);
      },
    );
    server.on('connection', (socket: Socket) => this.#opened(socket));
    // The upgrade request arrived whole: ws answers it (101) or refuses it (and destroys the socket) at once.
    server.on('upgrade', (_req, socket: Duplex) => this.#done(socket));
    server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => this.#clientError(error, socket));
    return server;
  }

  #opened(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const pending = this.#pending.get(address) ?? 0;
    if (pending >= this.#maxPerIp) {
      socket.destroy();
      this.#refuse(
        'pending_per_ip',
        { client: `${address}:${socket.remotePort}`, pending, key: 'foxglove.max_pending_per_ip' },
        `foxglove: refused a connection from ${address}: it has ${pending} connections that have not finished their WebSocket handshake, foxglove.max_pending_per_ip is ${this.#maxPerIp}`,
      );
      return;
    }
    this.#pending.set(address, pending + 1);
    this.#counted.set(socket, address);
    socket.once('close', () => this.#done(socket));
  }

  #done(socket: Duplex): void {
    const address = this.#counted.get(socket);
    if (address === undefined) return;
    this.#counted.delete(socket);
    const left = (this.#pending.get(address) ?? 1) - 1;
    if (left > 0) this.#pending.set(address, left);
    else this.#pending.delete(address);
  }

  /** What node's HTTP server does with a client error, with the handshake timeouts counted and logged. */
  #clientError(error: Error & { code?: string }, socket: Duplex): void {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const { remoteAddress, remotePort } = socket as Socket;
      this.#refuse(
        'handshake_timeout',
        { client: `${remoteAddress}:${remotePort}`, key: 'foxglove.handshake_timeout_ms' },
        `foxglove: closed a connection that did not send its whole WebSocket handshake within foxglove.handshake_timeout_ms (${this.#timeoutMs} ms)`,
      );
    }
    if (
      error.code !== 'ECONNRESET' &&
      socket.writable &&
      !(socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent
    ) {
      const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  }

  #refuse(reason: HandshakeRefusal, fields: Record<string, unknown>, line: string): void {
    this.#refused[reason]++;
    const held = this.#throttle.take(reason);
    if (held !== undefined) this.#log.warn({ ...fields, held_back: held }, line);
  }
}
