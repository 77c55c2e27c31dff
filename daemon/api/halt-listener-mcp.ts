import {
  Agent,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { jsonHazard, within } from '../util/index.ts';
import { jsonBodyText, jsonValue } from './body-text.ts';
import { crossSiteRefusal } from './cross-site.ts';
import { gateRefusal, type ApiGate } from './gate.ts';
import { HttpError } from './http-error.ts';
import { readBody } from './halt-listener-body.ts';
import type { McpHaltCall } from './halt-listener-messages.ts';
import { HALT_TAKEN_HEADER, haltCalls } from '../halt/index.ts';

export interface HaltListenerMcpOptions {
  /** The API's URL: its /mcp answers every request. */
  apiUrl: string;
  gate: ApiGate;
  /** What the API's MCP gateway takes in STOP_TAKEN_HEADER as this thread's word (McpGateway.listenerStops). */
  pass: string;
  /** The API's own body limit (api.body_limit_bytes). */
  bodyLimit: number;
  /** Takes a stop tool call's stop on this thread (the line, the main thread told, the zero commands): its id. */
  take: (call: McpHaltCall, reason: string | undefined) => number;
  /** Answers a refusal in the API's error shape, and closes the connection. */
  refuse: (res: ServerResponse, error: HttpError) => void;
}

/** What a request may do without changing anything, so a page's request of it is not refused (as the API's hook). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * How long a request with stop calls waits for the gateway to hold them before it goes on regardless: its stops are
 * on the line already, and a gateway that holds none takes them again (a second stop, never none).
 */
const TAKEN_WAIT_MS = 10_000;

/** Headers of one hop (RFC 9110 7.6.1), not passed on either way. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];
/** Also not passed on to the API: the body's length is its own, its 100-continue was answered here. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'content-length', 'expect', HALT_TAKEN_HEADER]);
const NOT_RETURNED = new Set(HOP_BY_HOP);

/**
 * MCP's /mcp on the stop listener's thread, for the one MCP request that must not wait for the daemon's event loop:
 * the `stop` tool's call. A POST whose body holds stop calls has each taken here as a POST /stop is (the stop line at
 * once, the main thread told, the off-loop zero commands); every request then goes on to the API's /mcp as it came,
 * and its answer (the tool's reply, with its stop's report, once the main thread runs) streams back as it comes, the
 * session's headers included. The main thread's MCP gateway holds a stop for its call before the request is relayed
 * (`taken`), and the request carries STOP_TAKEN_HEADER with the pass this thread shares with the gateway, so the call
 * is stopped once. Held to the API's gate (Host, token, cross-site) and body limit before any of it.
 */
export class HaltListenerMcp {
  readonly #gate: ApiGate;
  readonly #pass: string;
  readonly #bodyLimit: number;
  readonly #take: HaltListenerMcpOptions['take'];
  readonly #refuse: HaltListenerMcpOptions['refuse'];
  readonly #api: { hostname: string; port: string; url: string };
  /** Kept open: a client's requests go on over the same few connections. */
  readonly #agent = new Agent({ keepAlive: true });
  /** The stops whose request waits for the gateway to hold them, by id. */
  readonly #waiting = new Map<number, () => void>();

  constructor(options: HaltListenerMcpOptions) {
    const { apiUrl, gate, pass, bodyLimit, take, refuse } = options;
    this.#gate = gate;
    this.#pass = pass;
    this.#bodyLimit = bodyLimit;
    this.#take = take;
    this.#refuse = refuse;
    const { hostname, port } = new URL(apiUrl);
    // The address the API binds, as this host reaches it (0.0.0.0 and :: are no destination).
    const host = hostname.replace(/^\[|\]$/g, '');
    this.#api = { hostname: host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, port, url: apiUrl };
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const refused =
      gateRefusal(this.#gate, { url: req.url ?? '/', httpVersion: req.httpVersion, headers: req.headers }) ??
      (READS.has(method) ? undefined : crossSiteRefusal(method, `${method} /mcp`, req.headers)?.error);
    if (refused) return this.#refuse(res, refused);
    let body: Buffer;
    try {
      body = await readBody(req, this.#bodyLimit, () => this.#tooLarge());
    } catch (error) {
      return this.#refuse(res, error instanceof HttpError ? error : new HttpError('bad_request', String(error)));
    }
    const held = method === 'POST' ? this.#takeHalts(req.headers, body) : [];
    await Promise.all(held);
    this.#relay(req, res, body, held.length > 0);
  }

  /** The main thread's gateway holds the stop `id` for its call: its request may go on. */
  taken(id: number): void {
    this.#waiting.get(id)?.();
    this.#waiting.delete(id);
  }

  /**
   * Takes the body's stop calls, each resolving once the gateway holds it. Only a session's (the API answers any other
   * with 400 or 404, before its gateway stops anything), and only in a body the API's parser takes: one it refuses
   * (not UTF-8 JSON, a hazard) stops nothing there either, and its 400 or 415 comes from the API.
   */
  #takeHalts(headers: IncomingHttpHeaders, body: Buffer): Promise<void>[] {
    const session = headers['mcp-session-id'];
    if (typeof session !== 'string') return [];
    let value: unknown;
    try {
      value = jsonValue(jsonBodyText(headers, body));
    } catch {
      return []; // the API says why
    }
    if (jsonHazard(value)) return [];
    return haltCalls(value).map(({ id: call, reason }) => {
      const id = this.#take({ session, call }, reason);
      const taken = new Promise<void>((resolve) => this.#waiting.set(id, resolve));
      return within(taken, TAKEN_WAIT_MS).finally(() => this.#waiting.delete(id));
    });
  }

  /** The request to the API's /mcp, as it came (its stops' pass added), and its answer back as it streams. */
  #relay(req: IncomingMessage, res: ServerResponse, body: Buffer, stopsTaken: boolean): void {
    const headers = kept(req.headers, NOT_FORWARDED);
    if (body.length > 0 || req.headers['content-length'] !== undefined) headers['content-length'] = body.length;
    if (stopsTaken) headers[HALT_TAKEN_HEADER] = this.#pass;
    const { hostname, port } = this.#api;
    const upstream = request(
      { hostname, port, method: req.method, path: req.url, headers, agent: this.#agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, kept(answer.headers, NOT_RETURNED));
        answer.on('error', () => res.destroy()); // cut off midway: the client sees its stream end too
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) return void res.destroy();
      const stop = stopsTaken ? '; its stop was taken all the same (GET /status shows it)' : '';
      this.#refuse(
        res,
        new HttpError('bad_gateway', `the API's /mcp at ${this.#api.url} did not answer: ${error.message}${stop}`),
      );
    });
    // A client gone before its answer ended (an event stream it closed): the API's end of it goes too.
    res.on('close', () => res.writableFinished || upstream.destroy());
    upstream.end(body);
  }

  #tooLarge(): HttpError {
    return new HttpError(
      'payload_too_large',
      `a body is at most ${this.#bodyLimit} bytes; send a smaller body (api.body_limit_bytes)`,
    );
  }
}

/** The headers but those named. */
function kept(headers: IncomingHttpHeaders, dropped: ReadonlySet<string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !dropped.has(name)) out[name] = value;
  return out;
}
