import { ApiClient } from '../api/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import { alive } from '../lifecycle/index.ts';
import { readStatusFile, STATUS_FILE_PERIOD_MS, statusAgeMs, statusFilePath } from '../status/index.ts';
import { unreachableAdvice } from './api-unreachable.ts';
import { UsageError, type CommandIO } from '../cli-kit/index.ts';
import { clientTargetOrOther } from './daemon-target.ts';
import { errorText } from '../util/index.ts';

/** Where `auraison-edge topic` finds the daemon's Foxglove WebSocket server. */
export interface FoxgloveTarget {
  url: string;
  /** Where the URL came from, for messages: `--url`, the API's GET /status, the status file, the config. */
  from: string;
  /** The daemon's status when one was read: it tells a bus topic the server does not advertise. */
  status: DaemonStatus | undefined;
  /** What to do when nothing answers at the URL. */
  advice: string;
}

/** No Foxglove server can be found: the message says why and what to do. */
export class TopicTargetError extends Error {
  override name = 'TopicTargetError';
}

/** How long the API has to answer GET /status before the status file and the config are tried. */
const API_TIMEOUT_MS = 2000;
const STALE_MS = 3 * STATUS_FILE_PERIOD_MS;

/**
 * The daemon's Foxglove server: `--url ws://...` as given; else the URL the daemon reports for its `foxglove`
 * component, asked of its API (GET /status, found as `auraison-edge status` finds it; `--url http://...`
 * names that API) or read from its status file; else the config's foxglove.host and foxglove.port. A
 * daemon that runs without the Foxglove server is an error that says how to turn it on.
 */
export async function resolveFoxgloveTarget(
  values: { config?: string; url?: string; token?: string },
  io: CommandIO,
): Promise<FoxgloveTarget> {
  const { url } = values;
  if (url !== undefined && /^wss?:\/\//i.test(url)) {
    return {
      url,
      from: '--url',
      status: undefined,
      advice:
        "is a daemon's Foxglove server listening at that URL? (`auraison-edge status` shows `foxglove running at ws://...`)",
    };
  }
  if (url !== undefined && !/^https?:\/\//i.test(url)) {
    throw new UsageError(
      `--url: expected ws://HOST:PORT (the Foxglove server) or http://HOST:PORT (the daemon's API, which says where its Foxglove server is), got ${JSON.stringify(url)}`,
    );
  }
  const found = await findDaemonStatus(values, io);
  if ('status' in found) return fromStatus(found.status, found.from);
  const { notes, config, dataDir } = found;
  const noApi = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  const { enabled, host, port } = config.foxglove;
  if (!enabled || port === 0) {
    const why = !enabled
      ? 'the config turns off the Foxglove server topic needs (foxglove.enabled: false): set foxglove.enabled: true and start the daemon'
      : 'the config has foxglove.port 0 (a port picked at start, which only the running daemon knows): start the daemon';
    throw new TopicTargetError(
      `cannot find the daemon's Foxglove server: no daemon of ${dataDir} answered${noApi}, and ${why}, or give --url ws://HOST:PORT`,
    );
  }
  const from = 'config foxglove.host/foxglove.port';
  return {
    url: `ws://${bracketed(loopbackFor(host))}:${port}`,
    from,
    status: undefined,
    advice: `${unreachableAdvice({ from }, dataDir)}${noApi}`,
  };
}

/** A daemon's status, and where it was read (for messages). */
export interface FoundStatus {
  status: DaemonStatus;
  from: string;
}

/**
 * The status of the config's daemon, found as every client command finds it (resolveClientTarget): its
 * API's GET /status (`url` names the API), else its status file when that is fresh and its pid alive. Else
 * `notes` say why the API gave none. An API named by `url` that does not answer, or one of another data
 * dir's daemon at the config's port while this one's is not running, is a TopicTargetError.
 */
export async function findDaemonStatus(
  values: { config?: string; url?: string; token?: string },
  io: CommandIO,
): Promise<FoundStatus | { notes: string[]; config: EdgeConfig; dataDir: string }> {
  const { url } = values;
  const notes: string[] = [];
  const { dataDir, found, other } = await clientTargetOrOther(values, io);
  const api = found?.target;
  if (api) {
    try {
      const status =
        found?.status ?? (await new ApiClient(api, { timeoutMs: API_TIMEOUT_MS }).get<DaemonStatus>('/status'));
      return { status, from: `GET /status of the API at ${api.url}` };
    } catch (error) {
      if (url !== undefined) throw new TopicTargetError(`${errorText(error)}\n${unreachableAdvice(api, dataDir)}`);
      notes.push(errorText(error));
    }
  }
  const file = readStatusFile(dataDir);
  if (file && file.state === 'running' && alive(file.pid) && statusAgeMs(file) < STALE_MS)
    return { status: file, from: statusFilePath(dataDir) };
  // Not on to the config's Foxglove port: the daemon there is the same other one.
  if (other) throw new TopicTargetError(other.message);
  return { notes, config: found!.config, dataDir };
}

/** The Foxglove server a daemon's status reports (its `foxglove` component's URL). */
function fromStatus(status: DaemonStatus, from: string): FoxgloveTarget {
  const foxglove = status.components.foxglove;
  if (!foxglove) {
    throw new TopicTargetError(
      `the daemon of ${status.data_dir} runs no Foxglove server (foxglove.enabled is false in its config): set foxglove.enabled: true and reload it (\`auraison-edge reload\`), or give --url ws://HOST:PORT of another`,
    );
  }
  const url = foxglove.details?.url;
  if (typeof url !== 'string') {
    throw new TopicTargetError(
      `the daemon's Foxglove server is ${foxglove.state}${foxglove.reason ? `: ${foxglove.reason}` : ''}; see \`auraison-edge status\` and the daemon's log`,
    );
  }
  return {
    url: url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:'),
    from,
    status,
    advice: `the daemon of ${status.data_dir} says its Foxglove server listens there, but it does not answer: see its log, or \`auraison-edge status\``,
  };
}

function loopbackFor(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
