import type { ApiTarget } from '../api/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import type { CommandIO } from '../cli-kit/index.ts';
import { resolveClientConfig } from './config-option.ts';

/** How long a daemon at the config's port has to say whose it is before the command goes on without knowing. */
const IDENTIFY_TIMEOUT_MS = 2000;

/** The daemon a client command addresses, said when it is not obvious: `daemon: <data_dir> (pid N, <url>)`. */
export interface AddressedDaemon {
  dataDir: string;
  pid: number;
  url: string;
}

export interface ClientTarget {
  /** The config in effect (its data_dir and api at least: see resolveClientConfig). */
  config: EdgeConfig;
  /** The data dir of the config in effect. */
  dataDir: string;
  /** Where to send, undefined when there is nowhere (api disabled, port 0 and no run/api.json). */
  target: ApiTarget | undefined;
  /** Who answers there, when known: from run/api.json, or asked (a target from the config's port). */
  daemon: AddressedDaemon | undefined;
  /** The status the daemon gave when it was asked who it is, so `status` need not ask twice. */
  status: DaemonStatus | undefined;
}

/**
 * The daemon at the config's api.port is another data dir's: the command would act on a robot its config
 * does not name (a `stop` from another directory latching the daemon started elsewhere).
 */
export class OtherDaemonError extends Error {
  override name = 'OtherDaemonError';
  /** The config's data dir, whose daemon is not the one answering. */
  readonly dataDir: string;
  /** Whose API answered: `the API at <url> belongs to the daemon of <its data dir>`. */
  readonly whose: string;
  constructor(message: string, { dataDir, whose }: { dataDir: string; whose: string }) {
    super(message);
    this.dataDir = dataDir;
    this.whose = whose;
  }
}

export function describeDaemon(daemon: AddressedDaemon): string {
  return `daemon: ${daemon.dataDir} (pid ${daemon.pid}, ${daemon.url})`;
}

/**
 * The one way every client command (`status`, `stop`, `intent`, `topic`, `bag split`, ...) finds its
 * daemon: --url as given (whoever answers there); else the URL the daemon of the config's data dir wrote to
 * <data_dir>/run/api.json; else the config's api.host/api.port, where the daemon that answers is asked its
 * data dir and refused (OtherDaemonError) when it is not the config's: a port is not a daemon's name, and the
 * embedded default's data dir is ./.auraison-edge of the current directory, so from elsewhere the port leads
 * to a daemon the config does not name.
 */
export async function resolveClientTarget(
  values: { url?: string; token?: string; config?: string },
  io: CommandIO,
): Promise<ClientTarget> {
  const { config, file, warning } = resolveClientConfig(values.config, io.env);
  if (warning) io.stderr(warning);
  const { resolveDataDir } = await import('../config/index.ts');
  const { ApiClient, readApiFile, resolveApiTarget } = await import('../api/index.ts');
  const dataDir = resolveDataDir(config, io.cwd);
  const target = resolveApiTarget({ config, dataDir, env: io.env, url: values.url, token: values.token });
  if (!target || target.from === '--url') return { config, dataDir, target, daemon: undefined, status: undefined };
  if (target.from.endsWith('run/api.json')) {
    const written = readApiFile(dataDir);
    const daemon = written ? { dataDir, pid: written.pid, url: target.url } : undefined;
    return { config, dataDir, target, daemon, status: undefined };
  }
  let status: DaemonStatus;
  try {
    status = await new ApiClient(target, { timeoutMs: IDENTIFY_TIMEOUT_MS }).get<DaemonStatus>('/status');
  } catch {
    // Nobody answers (or not as a daemon): the command's own request fails and says what to do.
    return { config, dataDir, target, daemon: undefined, status: undefined };
  }
  const daemon = { dataDir: status.data_dir, pid: status.pid, url: target.url };
  if (status.data_dir === dataDir) return { config, dataDir, target, daemon, status };
  const source = values.config
    ? `--config ${file}`
    : file
      ? `$AURAISON_EDGE_CONFIG (${file})`
      : `the embedded default (./.auraison-edge of ${io.cwd})`;
  throw new OtherDaemonError(
    `the API at ${target.url} (${target.from}) belongs to the daemon of ${status.data_dir} (pid ${status.pid}), not to the daemon of ${dataDir}, the data dir of ${source}, which is not running there.\n` +
      `To address the daemon of ${status.data_dir}: give --config with its config (or run this in the directory it was started from), or --url ${target.url}`,
    { dataDir, whose: `the API at ${target.url} belongs to the daemon of ${status.data_dir}` },
  );
}

/**
 * resolveClientTarget for a command that has work of its own without the API (the data dir's status file,
 * its latch file): another data dir's daemon at the port comes back as a value beside the data dir.
 */
export async function clientTargetOrOther(
  values: { url?: string; token?: string; config?: string },
  io: CommandIO,
): Promise<{ dataDir: string; found: ClientTarget | undefined; other: OtherDaemonError | undefined }> {
  try {
    const found = await resolveClientTarget(values, io);
    return { dataDir: found.dataDir, found, other: undefined };
  } catch (error) {
    if (!(error instanceof OtherDaemonError)) throw error;
    return { dataDir: error.dataDir, found: undefined, other: error };
  }
}
