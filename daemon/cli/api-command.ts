import type { ApiClient } from '../api/index.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import { unreachableAdvice } from './api-unreachable.ts';
import type { CommandIO } from '../cli-kit/index.ts';
import { errorText } from '../util/index.ts';
import { OtherDaemonError, resolveClientTarget, type AddressedDaemon, type ClientTarget } from './daemon-target.ts';

/** The options every thin client of the daemon's API takes. */
export const API_CLIENT_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface DaemonApi {
  client: ApiClient;
  /** Who answers, when known before asking (run/api.json, or the config's port asked whose it is). */
  daemon: AddressedDaemon | undefined;
  /**
   * Who answers: `daemon`, else (a --url) the daemon there asked its data dir (GET /status), undefined when it does
   * not say. Asked after the command's own request, which it must not delay (a stop).
   */
  addressed(): Promise<AddressedDaemon | undefined>;
  /**
   * Says on stderr why a request failed: `auraison-edge <command>: <notDone><message>`, the API's
   * issues it did not already name, one per line, and, when no daemon answered, what to do.
   */
  report(error: unknown): void;
}

/**
 * The running daemon's API for a thin client command (`intent`, `approve`, `stop`, `bag split`, ...),
 * found as every client command finds it (resolveClientTarget), and refused when the config's port is
 * another data dir's daemon. Undefined, after saying why on stderr, when there is none to ask. `notDone` starts
 * every failure message (`the robot was NOT stopped: `).
 */
export async function daemonApi(
  command: string,
  values: { url?: string; token?: string; config?: string },
  io: CommandIO,
  options: { timeoutMs?: number; notDone?: string } = {},
): Promise<DaemonApi | undefined> {
  const { notDone = '' } = options;
  let found: ClientTarget;
  try {
    found = await resolveClientTarget(values, io);
  } catch (error) {
    if (!(error instanceof OtherDaemonError)) throw error;
    io.stderr(`auraison-edge ${command}: ${notDone}${error.message}\n`);
    return undefined;
  }
  const { dataDir, target, daemon } = found;
  const { ApiClient, ApiClientError } = await import('../api/index.ts');
  if (!target) {
    io.stderr(
      `auraison-edge ${command}: ${notDone}no API to send to: the config has api.enabled false or api.port 0 and no daemon wrote run/api.json; give --url\n`,
    );
    return undefined;
  }
  const client = new ApiClient(target, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
  return {
    client,
    daemon,
    async addressed() {
      if (daemon) return daemon;
      const status = await client.get<DaemonStatus>('/status').catch(() => undefined);
      return status ? { dataDir: status.data_dir, pid: status.pid, url: target.url } : undefined;
    },
    report(error) {
      const message = errorText(error);
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
