import type { ApiClient, ApiTarget } from '../api/index.ts';
import { unreachableAdvice } from './api-unreachable.ts';
import type { CommandIO } from './command.ts';
import { resolveClientConfig } from './config-option.ts';

/** The options every thin client of the daemon's API takes. */
export const API_CLIENT_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface DaemonApi {
  client: ApiClient;
  /**
   * Says on stderr why a request failed: `auraison-edge <command>: <notDone><message>`, the API's
   * issues it did not already name, one per line, and, when no daemon answered, what to do.
   */
  report(error: unknown): void;
}

/**
 * The data dir and the API target a client command uses: --url, else <data_dir>/run/api.json, else the
 * config's api.host/api.port; `target` is undefined when there is none to ask.
 */
export async function clientTarget(
  values: { url?: string; token?: string; config?: string },
  io: CommandIO,
): Promise<{ dataDir: string; target: ApiTarget | undefined }> {
  const { config, warning } = resolveClientConfig(values.config, io.env);
  if (warning) io.stderr(warning);
  const { resolveDataDir } = await import('../config/index.ts');
  const { resolveApiTarget } = await import('../api/index.ts');
  const dataDir = resolveDataDir(config, io.cwd);
  return { dataDir, target: resolveApiTarget({ config, dataDir, env: io.env, url: values.url, token: values.token }) };
}

/**
 * The running daemon's API for a thin client command (`intent`, `approve`, `stop`, `bag split`, ...),
 * found as every client command finds it: --url, else <data_dir>/run/api.json, else the config's
 * api.host/api.port. Undefined, after saying why on stderr, when there is none to ask. `notDone` starts
 * every failure message (`the robot was NOT stopped: `).
 */
export async function daemonApi(
  command: string,
  values: { url?: string; token?: string; config?: string },
  io: CommandIO,
  options: { timeoutMs?: number; notDone?: string } = {},
): Promise<DaemonApi | undefined> {
  const { notDone = '' } = options;
  const { dataDir, target } = await clientTarget(values, io);
  const { ApiClient, ApiClientError } = await import('../api/index.ts');
  if (!target) {
    io.stderr(
      `auraison-edge ${command}: ${notDone}no API to send to: the config has api.enabled false or api.port 0 and no daemon wrote run/api.json; give --url\n`,
    );
    return undefined;
  }
  return {
    client: new ApiClient(target, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    report(error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!(error instanceof ApiClientError)) return void io.stderr(`auraison-edge ${command}: ${notDone}${message}\n`);
      // The API's message already holds its issues, one per line; list only those it does not.
      const issues =
        error.issues
          ?.filter((i) => !message.includes(`${i.path}: ${i.message}`))
          .map((i) => `\n  ${i.path}: ${i.message}`)
          .join('') ?? '';
      const advice = error.code === 'unreachable' ? `\n${unreachableAdvice(target, dataDir)}` : '';
      io.stderr(`auraison-edge ${command}: ${notDone}${message}${issues}${advice}\n`);
    },
  };
}
