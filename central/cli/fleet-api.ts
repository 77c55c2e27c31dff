import { UsageError } from 'auraison-edge/cli-kit';

/** central.yaml's http section default (central/config.ts): where `central serve` listens. */
const DEFAULT_URL = 'http://127.0.0.1:8790';
const TIMEOUT_MS = 10_000;

/** Where `central serve`'s fleet API is, and where that came from (for messages). */
export interface FleetApiTarget {
  url: string;
  from: string;
  /** central serve's http.token: central.yaml's, else $AURAISON_CENTRAL_TOKEN; none when neither is set. */
  token?: string;
}

/**
 * `--url`, else central.yaml's http.host and http.port (`--config`, else $AURAISON_CENTRAL_CONFIG), else
 * $AURAISON_CENTRAL_URL, else central serve's default address.
 */
export async function resolveFleetApi(
  values: { url?: string | undefined; config?: string | undefined },
  env: NodeJS.ProcessEnv,
): Promise<FleetApiTarget> {
  if (values.url !== undefined) {
    if (!/^https?:\/\/[^/]+/.test(values.url))
      throw new UsageError(`--url: expected http(s)://host:port, got ${values.url}`);
    return { url: values.url.replace(/\/+$/, ''), from: '--url', ...envToken(env) };
  }
  const file = values.config ?? (env.AURAISON_CENTRAL_CONFIG || undefined);
  if (file !== undefined) {
    const { http } = await readCentralYaml(file, env, ['http']);
    const host = http.host === '0.0.0.0' ? '127.0.0.1' : http.host === '::' ? '::1' : http.host;
    if (!http.enabled)
      throw new UsageError(`${file}: http.enabled is false, so central serve serves no API: enable it, or give --url`);
    if (http.port === 0)
      throw new UsageError(`${file}: http.port is 0 (any free port): give --url with the port central serve logged`);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${http.port}`;
    return { url, from: `${file} (http)`, ...(http.token !== '' ? { token: http.token } : envToken(env)) };
  }
  if (env.AURAISON_CENTRAL_URL)
    return { url: env.AURAISON_CENTRAL_URL.replace(/\/+$/, ''), from: '$AURAISON_CENTRAL_URL', ...envToken(env) };
  return { url: DEFAULT_URL, from: 'the default address', ...envToken(env) };
}

function envToken(env: NodeJS.ProcessEnv): { token?: string } {
  return env.AURAISON_CENTRAL_TOKEN ? { token: env.AURAISON_CENTRAL_TOKEN } : {};
}

/** central.yaml, read and checked as `central serve` reads it. */
/** central.yaml for a command that reads only `sections` of it: a secret of another section may stay unset. */
export async function readCentralYaml(file: string, env: NodeJS.ProcessEnv, sections: readonly string[]) {
  const { loadCentralServeConfig } = await import('../config.ts');
  return loadCentralServeConfig(file, env, sections);
}

/** No answer from central serve, or an error answer: the message says what to do. */
export class FleetApiError extends Error {
  override name = 'FleetApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A small JSON client of `central serve`'s fleet API (central/http.ts). */
export class FleetApiClient {
  readonly target: FleetApiTarget;

  constructor(target: FleetApiTarget) {
    this.target = target;
  }

  get<T>(path: string): Promise<T> {
    return this.#request<T>('GET', path, undefined);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('POST', path, body);
  }

  async #request<T>(method: string, path: string, body: unknown): Promise<T> {
    const { url, from, token } = this.target;
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const { cause, name, message } = error as Error & { cause?: { code?: string; message?: string } };
      const reason = cause?.code ?? cause?.message ?? (name === 'TimeoutError' ? name : message);
      const why = reason === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : reason;
      throw new FleetApiError(
        0,
        `central serve is not answering at ${url} (${from}; ${why}): start it with \`auraison-edge central serve --config central.yaml\`, or give --url (or --config) for the one that runs`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new FleetApiError(
        response.status,
        `${url}${path} answered HTTP ${response.status} with no JSON: is that central serve's http address?`,
      );
    }
    if (!response.ok) {
      const message = (parsed as { message?: unknown }).message;
      throw new FleetApiError(response.status, typeof message === 'string' ? message : `HTTP ${response.status}`);
    }
    return parsed as T;
  }
}
