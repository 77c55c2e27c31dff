import { WebSocket, type RawData } from 'ws';
import { Backoff, clipText, errorText, redactUrl } from '../../util/index.ts';
import type { PolicyInputs } from '../policy-runner.ts';
import { RemoteFailed, type RemoteFailure, type WireTensor } from './chunk-check.ts';
import { encodeObservation, messageReader, OpenpiWireError, replyArray, type ObservationArray } from './openpi-wire.ts';
import type { RemoteClient } from './remote-client.ts';
import type { RemoteState } from './remote-status.ts';

export interface OpenpiClientOptions {
  /** ws:// or wss://. */
  url: string;
  /** Sent as `Authorization: Api-Key <key>` (openpi-client's header); empty: none. */
  apiKey: string;
  /** PEM CA bundle for wss:// (empty: the system's CAs). */
  ca: string;
  /** Each input's declared shape, by name: the arrays go out in it. */
  shapes: ReadonlyMap<string, readonly number[]>;
  /** Constant entries sent beside the arrays (a prompt). */
  fields: Record<string, string | number>;
  /** The reply's key holding the action chunk (openpi's `actions`). */
  output: string;
  maxReplyBytes: number;
  /** The handshake and the server's metadata, each, must come within it. */
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

/** How often a loop asks again while a connection is being made. */
const CONNECTING_POLL_MS = 100;

type Pending = { resolve: (bytes: Uint8Array) => void; reject: (error: RemoteFailed) => void };

/**
 * A client of an openpi websocket policy server, as openpi-client's WebsocketClientPolicy is: one connection, the
 * server's metadata first, then one observation out and one reply back at a time. It stays connected on its own:
 * a connection lost (closed, refused, a reply past its timeout, a frame over maxReplyBytes, a message nobody asked
 * for) is made anew after a backoff that doubles per failure in a row, and a request while it is not up fails at
 * once, so a loop asks again when `retryInMs` says. Whatever the server sends is read as msgpack and never run.
 */
export class OpenpiClient implements RemoteClient {
  readonly endpoint: string;
  readonly #options: OpenpiClientOptions;
  readonly #backoff: Backoff;
  readonly #read: (bytes: Uint8Array) => unknown;
  #ws: WebSocket | undefined;
  #state: RemoteState = 'connecting';
  #reason = 'connecting';
  #retryAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #pending: Pending | undefined;
  #connects = 0;
  #onState: () => void = () => undefined;

  constructor(options: OpenpiClientOptions) {
    this.#options = options;
    this.endpoint = `openpi ${redactUrl(options.url)}`;
    this.#backoff = new Backoff({ firstMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs, jitter: 0.2 });
    this.#read = messageReader(options.maxReplyBytes);
  }

  get state(): RemoteState {
    return this.#state;
  }

  get reason(): string {
    return this.#reason;
  }

  get connects(): number {
    return this.#connects;
  }

  retryInMs(): number {
    if (this.#state === 'down') return Math.max(CONNECTING_POLL_MS, this.#retryAt - performance.now());
    return this.#state === 'connecting' ? CONNECTING_POLL_MS : 0;
  }

  start(onState: () => void): void {
    this.#onState = onState;
    this.#connect();
  }

  async infer(
    inputs: PolicyInputs,
    _timestep: number,
    signal: AbortSignal,
  ): Promise<WireTensor & { serverMs?: number }> {
    const ws = this.#ws;
    if (this.#state !== 'up' || !ws)
      throw new RemoteFailed('unreachable', `${this.endpoint} is ${this.#state}: ${this.#reason}`);
    if (this.#pending)
      throw new RemoteFailed('refused', 'a request is already in flight: openpi answers one at a time');
    const arrays: ObservationArray[] = [];
    for (const [name, data] of Object.entries(inputs))
      arrays.push({ name, shape: this.#options.shapes.get(name)!, data });
    const bytes = await new Promise<Uint8Array>((resolve, reject) => {
      this.#pending = { resolve, reject };
      // A reply the loop gave up on would answer the next request: the connection is made anew instead.
      signal.addEventListener('abort', () => this.#lost(ws, 'timeout', errorText(signal.reason)), { once: true });
      ws.send(encodeObservation(arrays, this.#options.fields), { binary: true });
    });
    try {
      return replyArray(this.#read(bytes), this.#options.output);
    } catch (error) {
      if (error instanceof OpenpiWireError) throw new RemoteFailed('malformed', error.message);
      throw error;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#set('closed', 'closed');
    this.#ws = undefined;
    this.#pending?.reject(new RemoteFailed('closed', 'the loop closed'));
    this.#pending = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
  }

  #connect(): void {
    this.#timer = undefined;
    if (this.#state === 'closed') return;
    const { url, apiKey, ca, maxReplyBytes, connectTimeoutMs } = this.#options;
    this.#set('connecting', this.#state === 'connecting' ? 'connecting' : `connecting again (${this.#reason})`);
    const ws = new WebSocket(url, {
      headers: apiKey ? { Authorization: `Api-Key ${apiKey}` } : {},
      maxPayload: maxReplyBytes,
      handshakeTimeout: connectTimeoutMs,
      perMessageDeflate: false,
      ...(ca ? { ca } : {}),
    });
    this.#ws = ws;
    let metadataTimer: NodeJS.Timeout | undefined;
    ws.on('open', () => {
      metadataTimer = setTimeout(
        () => this.#lost(ws, 'timeout', `no metadata from the server within ${connectTimeoutMs} ms of connecting`),
        connectTimeoutMs,
      );
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (this.#state === 'connecting') {
        clearTimeout(metadataTimer);
        return this.#metadata(ws, data, isBinary);
      }
      this.#reply(ws, data, isBinary);
    });
    ws.on('unexpected-response', (_request, response) => {
      const { statusCode = 0, statusMessage = '' } = response;
      const hint = statusCode === 401 || statusCode === 403 ? ': check remote.api_key' : '';
      this.#lost(ws, 'refused', `the server answered the handshake with HTTP ${statusCode} ${statusMessage}${hint}`);
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
        this.#lost(
          ws,
          'too_large',
          `a message over remote.max_reply_bytes (${maxReplyBytes} bytes) was refused unread`,
        );
      else this.#lost(ws, 'unreachable', errorText(error));
    });
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(metadataTimer);
      const why = reason.byteLength > 0 ? `: ${clipText(reason.toString('utf8'), 200)}` : '';
      this.#lost(ws, 'closed', `the server closed the connection (${code}${why})`);
    });
  }

  /** The server's first message: its metadata, a map; what it holds is the server's business (a robot type). */
  #metadata(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (!isBinary) return this.#lost(ws, 'server_error', `the server said, in place of its metadata: ${text(data)}`);
    let metadata: unknown;
    try {
      metadata = this.#read(bytesOf(data));
    } catch (error) {
      return this.#lost(ws, 'malformed', `its metadata: ${errorText(error)}`);
    }
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || metadata instanceof Uint8Array)
      return this.#lost(ws, 'malformed', 'its first message is not a metadata map');
    this.#connects++;
    this.#backoff.reset();
    this.#set('up', 'up');
  }

  #reply(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const pending = this.#pending;
    this.#pending = undefined;
    // openpi's server sends its traceback as text, then closes with 1011: the traceback is the news, not the close.
    if (!isBinary) {
      this.#pending = pending;
      return this.#lost(ws, 'server_error', `the server failed: ${text(data)}`);
    }
    if (!pending) return this.#lost(ws, 'malformed', 'the server sent a message no observation asked for');
    pending.resolve(bytesOf(data));
  }

  /**
   * The connection `ws` is gone, or given up: the request in flight fails with `reason`, and the next connection is
   * tried after the backoff. Said once per connection: its close event after a terminate() says nothing more.
   */
  #lost(ws: WebSocket, reason: RemoteFailure, message: string): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    ws.terminate();
    this.#pending?.reject(new RemoteFailed(reason, message));
    this.#pending = undefined;
    if (this.#state === 'closed') return;
    const wait = this.#backoff.next();
    this.#retryAt = performance.now() + wait;
    this.#set('down', `${reason}: ${message}`);
    this.#timer = setTimeout(() => this.#connect(), wait);
  }

  #set(state: RemoteState, reason: string): void {
    this.#state = state;
    this.#reason = reason;
    this.#onState();
  }
}

const bytesOf = (data: RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;

/** A server's text frame (openpi's traceback), its last line first: that is where Python says what went wrong. */
function text(data: RawData): string {
  const lines = Buffer.from(bytesOf(data)).toString('utf8').trim().split('\n');
  return clipText(lines.length > 1 ? `${lines.at(-1)!.trim()} (a traceback of ${lines.length} lines)` : lines[0]!, 300);
}
