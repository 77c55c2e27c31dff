import { relative } from 'node:path';
import type { ApiClient } from '../api/index.ts';
import type { SplitReply } from '../api/index.ts';
import { nsToIso } from '../util/index.ts';
import { type CommandIO, MAX_TIMEOUT_OPTION_S, numberOption, parseCommandArgs, UsageError } from '../cli-kit/index.ts';
import { API_CLIENT_OPTIONS, daemonApi } from './api-command.ts';

/** The options every thin client of the recorder's routes takes. */
export const RECORDER_CLIENT_OPTIONS = API_CLIENT_OPTIONS;

/**
 * A client of the running daemon's API for `bag <sub>`, and how to report its errors; undefined (after
 * saying why on stderr) when there is no API to ask.
 */
export async function recorderApi(
  sub: string,
  values: { url?: string; token?: string; config?: string; json?: boolean },
  io: CommandIO,
  timeoutMs?: number,
) {
  const api = await daemonApi(`bag ${sub}`, values, io, timeoutMs === undefined ? {} : { timeoutMs });
  if (!api) return undefined;
  const { ApiClientError } = await import('../api/index.ts');
  /** Runs a request; an API error (or no answer) is printed with what to do, and gives undefined. */
  async function ask<T>(request: (c: ApiClient) => Promise<T>): Promise<T | undefined> {
    try {
      return await request(api!.client);
    } catch (error) {
      if (!(error instanceof ApiClientError)) throw error;
      if (values.json) io.stdout(`${JSON.stringify({ error: error.code, message: error.message })}\n`);
      api!.report(error);
      return undefined;
    }
  }
  return { ask };
}

/** `bag split` and `bag snapshot`: the client options plus --no-wait and --timeout S (default 30, at most 600). */
export function parseWaitingArgs(argv: string[]) {
  const { values } = parseCommandArgs(
    argv,
    { 'no-wait': { type: 'boolean' }, timeout: { type: 'string' }, ...RECORDER_CLIENT_OPTIONS },
    { min: 0, max: 0, names: '' },
  );
  const timeoutS =
    numberOption('timeout', values.timeout, { min: 0, exclusiveMin: true, max: MAX_TIMEOUT_OPTION_S }) ?? 30;
  if (timeoutS > 600) throw new UsageError(`--timeout: at most 600 s, got ${values.timeout}`);
  return { values, timeoutMs: Math.round(timeoutS * 1000) };
}

/** What the lakehouse said of a split or snapshot it was handed, in a line. */
export function indexingText(indexing: SplitReply['indexing']): string {
  switch (indexing?.state) {
    case 'indexed':
      return 'indexed: its messages are in `auraison-edge query` now';
    case 'failed':
      return `indexing FAILED (retried in ${Math.ceil(indexing.retry_in_ms / 1000)} s): ${indexing.error}`;
    case 'pending':
    case 'off':
    case 'timeout':
      return `not indexed yet: ${indexing.reason}`;
    case 'not_waited':
      return 'handed to the lakehouse for indexing (--no-wait: not waited for)';
    default:
      return '';
  }
}

/**
 * The exit code for an indexing state: a script's next `query` would not see the data yet, and it must be
 * able to tell (3), as from a failure (1).
 */
export function indexingExit(indexing: SplitReply['indexing']): number {
  const state = indexing?.state;
  return state === 'failed' ? 1 : state === 'timeout' || state === 'pending' ? 3 : 0;
}

/** `N message(s) over S s, from <ISO time>`: what a closed split or a snapshot holds. */
export function spanText(what: { messages: number; start_ns: string; end_ns: string }): string {
  const seconds = Number(BigInt(what.end_ns) - BigInt(what.start_ns)) / 1e9;
  return `${what.messages} message(s) over ${seconds.toFixed(1)} s, from ${nsToIso(what.start_ns)}`;
}

/** A path under the working directory as a relative one, others as they are. */
export function shownPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith('..') ? path : rel;
}
