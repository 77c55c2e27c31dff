import type { LightMyRequestResponse } from 'fastify';

type Json = Record<string, unknown>;

/** The fastify app's inject, as far as the gateway uses it. */
export type Inject = (request: {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  payload?: Json;
}) => Promise<LightMyRequestResponse>;

/** The API refused or failed a call: its status, its error code and its message. */
export class ApiCallError extends Error {
  override name = 'ApiCallError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * The local API, called in-process as the MCP client's own request: every tool goes through the route an HTTP
 * client would use, with the caller's Authorization header, so the token rule, the schemas, the query limits
 * and the agent's frames are the API's and exist once.
 */
export class ApiCaller {
  #inject: Inject;
  #headers: Record<string, string>;

  constructor({ inject, authorization }: { inject: Inject; authorization: string | undefined }) {
    this.#inject = inject;
    // light-my-request's default Host (localhost:80) is a loopback name, as the auth hook requires.
    this.#headers = authorization === undefined ? {} : { authorization };
  }

  get<T>(url: string): Promise<T> {
    return this.#call<T>('GET', url, undefined);
  }

  /**
   * The ETag a GET of `url` answers with now, asked conditionally (If-None-Match: `last`), so an unchanged
   * resource costs the route no work; undefined when the route has nothing (404).
   */
  async etag(url: string, last: string | undefined): Promise<string | undefined> {
    const headers = last === undefined ? this.#headers : { ...this.#headers, 'if-none-match': last };
    const reply = await this.#inject({ method: 'GET', url, headers });
    if (reply.statusCode === 304) return last;
    if (reply.statusCode === 404) return undefined;
    if (reply.statusCode >= 400) throw new ApiCallError(reply.statusCode, 'error', `GET ${url}: ${reply.statusCode}`);
    const etag = reply.headers.etag;
    return typeof etag === 'string' ? etag : undefined;
  }

  post<T>(url: string, body: Json = {}): Promise<T> {
    return this.#call<T>('POST', url, body);
  }

  async #call<T>(method: 'GET' | 'POST', url: string, payload: Json | undefined): Promise<T> {
    const headers = payload === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' };
    const reply = await this.#inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    const body = parse(reply.body);
    if (reply.statusCode >= 400) {
      const { error = 'error', message = reply.body } = (body ?? {}) as { error?: string; message?: string };
      throw new ApiCallError(reply.statusCode, error, `${method} ${url}: ${reply.statusCode} ${message}`);
    }
    return body as T;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON (an empty 204): the caller gets nothing rather than an error.
    return undefined;
  }
}
