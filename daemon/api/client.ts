import type { IncomingMessage } from 'node:http';
import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';
import { alive } from '../lifecycle/index.ts';
import { readApiFile } from './discovery.ts';
import { errorText } from '../util/index.ts';

export interface ApiTarget {
  url: string;
  token: string | undefined;
  /** Where the URL came from, for messages: `--url`, `<data_dir>/run/api.json`, `config api.port`. */
  from: string;
  /** The stop listener's URL (POST /stop on a thread of its own), when run/api.json names one. */
  stopUrl?: string;
  /** Where an MCP client is sent (the stop listener's /mcp, else the API's), when run/api.json names it. */
  mcpUrl?: string;
}

/** A reply that was not 2xx (status > 0), or no reply at all (status 0: not listening, timed out). */
export class ApiClientError extends Error {
  override name = 'ApiClientError';
  readonly status: number;
  readonly code: string;
  readonly issues: ValidationIssue[] | undefined;
  constructor(status: number, code: string, message: string, issues?: ValidationIssue[]) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

/**
 * Where the daemon that uses this config's data dir listens: `--url` if given; else the URL the running API
 * wrote to <data_dir>/run/api.json (so `api.port: 0` works); else the config's host and port. The token is
 * `--token`, else $AURAISON_EDGE_API_TOKEN, else the config's api.token.
 */
export function resolveApiTarget(options: {
  config: EdgeConfig;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  url?: string;
  token?: string;
}): ApiTarget | undefined {
  const { config, dataDir, env, url, token } = options;
  const bearer = token ?? (env.AURAISON_EDGE_API_TOKEN || undefined) ?? (config.api.token || undefined);
  if (url) return { url: url.replace(/\/+$/, ''), token: bearer, from: '--url' };
  const file = readApiFile(dataDir);
  if (file && alive(file.pid))
    return {
      url: reachable(file.url),
      token: bearer,
      from: `${dataDir}/run/api.json`,
      ...(file.stop_url ? { stopUrl: reachable(file.stop_url) } : {}),
      ...(file.mcp_url ? { mcpUrl: reachable(file.mcp_url) } : {}),
    };
  if (!config.api.enabled || config.api.port === 0) return undefined;
  const host = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host === '::' ? '::1' : config.api.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${config.api.port}`,
    token: bearer,
    from: 'config api.host/api.port',
  };
}

/** A URL the daemon wrote with the address it binds, as a client on this host reaches it. */
function reachable(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}

/** A small JSON client of the local API, for the CLI's thin commands. */
export class ApiClient {
  readonly target: ApiTarget;
  #timeoutMs: number;

  constructor(target: ApiTarget, options: { timeoutMs?: number } = {}) {
    this.target = target;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  get<T>(path: string): Promise<T> {
    return this.#request<T>('GET', path, undefined);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#request<T>('POST', path, body);
  }

  /**
   * POSTs `body` and hands each line of a newline-delimited JSON answer to `onLine` as it comes; no timeout once the
   * answer has begun (a goal may run for minutes), `signal` ends it. Errors as `post`.
   */
  async postLines(
    path: string,
    body: unknown,
    onLine: (value: unknown) => void,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const headers: Record<string, string> = { accept: 'application/x-ndjson', 'content-type': 'application/json' };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    let response: IncomingMessage;
    try {
      response = await this.#send('POST', path, headers, JSON.stringify(body), { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) return;
      throw this.#unreachable((error as NodeJS.ErrnoException).code ?? errorText(error));
    }
    if (response.statusCode === undefined || response.statusCode >= 300) {
      const text = await readText(response);
      let err: { error?: string; message?: string; issues?: ValidationIssue[] } | undefined;
      try {
        err = JSON.parse(text) as typeof err;
      } catch {
        err = undefined; // not JSON: reported with the status
      }
      throw new ApiClientError(
        response.statusCode ?? 0,
        err?.error ?? 'http_error',
        err?.message ?? `POST ${path}: HTTP ${response.statusCode} ${text.slice(0, 200)}`,
        err?.issues,
      );
    }
    response.setEncoding('utf8');
    let pending = '';
    try {
      for await (const chunk of response) {
        pending += chunk as string;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== '') onLine(JSON.parse(line));
        }
      }
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
    if (pending.trim() !== '') onLine(JSON.parse(pending));
  }

  async #request<T>(method: string, path: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    // The API takes a change only with this type, also with no body (a web page cannot send it: cross-site.ts).
    if (body !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    let status: number;
    let text: string;
    try {
      const response = await this.#send(method, path, headers, body === undefined ? undefined : JSON.stringify(body), {
        signal: deadline,
      });
      status = response.statusCode ?? 0;
      text = await readText(response);
    } catch (error) {
      throw this.#unreachable(
        deadline.aborted
          ? `no reply within ${this.#timeoutMs} ms`
          : ((error as NodeJS.ErrnoException).code ?? errorText(error)),
      );
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined; // not JSON: reported below with the status
    }
    if (status < 200 || status >= 300) {
      const err = parsed as { error?: string; message?: string; issues?: ValidationIssue[] } | undefined;
      throw new ApiClientError(
        status,
        err?.error ?? 'http_error',
        err?.message ?? `${method} ${path}: HTTP ${status} ${text.slice(0, 200)}`,
        err?.issues,
      );
    }
    return parsed as T;
  }

  #unreachable(cause: string): ApiClientError {
    return new ApiClientError(
      0,
      'unreachable',
      `no answer from the API at ${this.target.url} (${this.target.from}): ${cause}`,
    );
  }

  /**
   * One request through node:http (node:https for an https URL), resolved with the answer's head. Not fetch: loading
   * its undici took a client command (`status`) as long as all of the command's own work.
   */
  async #send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    { signal }: { signal?: AbortSignal },
  ): Promise<IncomingMessage> {
    const url = new URL(`${this.target.url}${path}`);
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, signal }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** An answer's body as text. */
async function readText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}
