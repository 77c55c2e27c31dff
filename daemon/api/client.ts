import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../contract/index.ts';
import { alive } from '../lifecycle/index.ts';
import { readApiFile } from './discovery.ts';

export interface ApiTarget {
  url: string;
  token: string | undefined;
  /** Where the URL came from, for messages: `--url`, `<data_dir>/run/api.json`, `config api.port`. */
  from: string;
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
      url: file.url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:'),
      token: bearer,
      from: `${dataDir}/run/api.json`,
    };
  if (!config.api.enabled || config.api.port === 0) return undefined;
  const host = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host === '::' ? '::1' : config.api.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${config.api.port}`,
    token: bearer,
    from: 'config api.host/api.port',
  };
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
    let response: Response;
    try {
      response = await fetch(`${this.target.url}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) return;
      throw new ApiClientError(
        0,
        'unreachable',
        `no answer from the API at ${this.target.url} (${this.target.from}): ${(error as Error).message}`,
      );
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      let err: { error?: string; message?: string; issues?: ValidationIssue[] } | undefined;
      try {
        err = JSON.parse(text) as typeof err;
      } catch {
        err = undefined; // not JSON: reported with the status
      }
      throw new ApiClientError(
        response.status,
        err?.error ?? 'http_error',
        err?.message ?? `POST ${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
        err?.issues,
      );
    }
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of response.body) {
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
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
    let response: Response;
    try {
      response = await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      // fetch's own error says only "fetch failed"; the cause says why (ECONNREFUSED, a port fetch blocks, a timeout).
      const { cause: inner } = error as { cause?: { code?: string; message?: string } };
      const cause =
        inner?.code ??
        inner?.message ??
        ((error as Error).name === 'TimeoutError' ? `no reply within ${this.#timeoutMs} ms` : (error as Error).message);
      throw new ApiClientError(
        0,
        'unreachable',
        `no answer from the API at ${this.target.url} (${this.target.from}): ${cause}`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined; // not JSON: reported below with the status
    }
    if (!response.ok) {
      const err = parsed as { error?: string; message?: string; issues?: ValidationIssue[] } | undefined;
      throw new ApiClientError(
        response.status,
        err?.error ?? 'http_error',
        err?.message ?? `${method} ${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
        err?.issues,
      );
    }
    return parsed as T;
  }
}
