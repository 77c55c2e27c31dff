import type { ApiClient } from '../api/client.ts';
import { unreachableAdvice } from './api-unreachable.ts';
import type { CommandIO } from './command.ts';
import { resolveClientConfig } from './config-option.ts';

/** The options every thin client of the recorder's routes takes. */
export const RECORDER_CLIENT_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * A client of the running daemon's API for `bag <sub>`, and how to report its errors; undefined (after
 * saying why on stderr) when there is no API to ask.
 */
export async function recorderApi(sub: string, values: { url?: string; token?: string; config?: string; json?: boolean }, io: CommandIO, timeoutMs?: number) {
  const { config, warning } = resolveClientConfig(values.config, io.env);
  if (warning) io.stderr(warning);
  const { resolveDataDir } = await import('../config/load.ts');
  const { ApiClient, ApiClientError, resolveApiTarget } = await import('../api/client.ts');
  const dataDir = resolveDataDir(config, io.cwd);
  const target = resolveApiTarget({ config, dataDir, env: io.env, url: values.url, token: values.token });
  if (!target) {
    io.stderr(`auraison-edge bag ${sub}: no API to send to: the config has api.enabled false or api.port 0 and no daemon wrote run/api.json; give --url\n`);
    return undefined;
  }
  const client: ApiClient = new ApiClient(target, timeoutMs === undefined ? {} : { timeoutMs });
  /** Runs a request; an API error (or no answer) is printed with what to do, and gives undefined. */
  async function ask<T>(request: (c: ApiClient) => Promise<T>): Promise<T | undefined> {
    try {
      return await request(client);
    } catch (error) {
      if (!(error instanceof ApiClientError)) throw error;
      if (values.json) io.stdout(`${JSON.stringify({ error: error.code, message: error.message })}\n`);
      io.stderr(`auraison-edge bag ${sub}: ${error.message}${error.code === 'unreachable' ? `\n${unreachableAdvice(target!, dataDir)}` : ''}\n`);
      return undefined;
    }
  }
  return { ask };
}
