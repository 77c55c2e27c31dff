import { join } from 'node:path';
import { readApiFile } from '../../daemon/api/discovery.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { http } from '../api/http.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitForValue } from '../helpers/wait.ts';

export type ApiRun = { run_id: string; status: string; reason?: string };
export type ApiRunEvent = { kind: string; payload: Record<string, unknown> };

const ENDED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/**
 * A daemon in this process with its HTTP API on a free port, nothing else but what `config` adds (no sim,
 * Foxglove, lakehouse or retention), and the API calls of a test of the agent: submitting an intent and
 * polling its run until it reaches one of some statuses (by default any end). `stop` goes onto `cleanups`.
 */
export async function apiDaemon(
  config: Record<string, unknown>,
  prefix: string,
  cleanups: (() => Promise<void> | void)[],
) {
  const { daemon, codec, dir, stop } = await startDaemon(
    {
      sim: { enabled: false },
      foxglove: { enabled: false },
      lakehouse: { enabled: false },
      retention: { enabled: false },
      api: { port: 0 },
      ...config,
    },
    prefix,
  );
  cleanups.push(stop);
  const { url } = readApiFile(join(dir, 'data'))!;
  const until = async (runId: string, statuses = ENDED): Promise<{ run: ApiRun; events: ApiRunEvent[] }> => {
    let status: string | undefined;
    try {
      return await waitForValue(
        async () => {
          const found = (await http(url, `/runs/${runId}`)).json as { run: ApiRun; events: ApiRunEvent[] };
          status = found.run.status;
          return statuses.includes(found.run.status) && found;
        },
        `run ${runId}`,
        20_000,
      );
    } catch {
      throw new Error(`run ${runId} never reached ${statuses.join('|')} (is ${status})`);
    }
  };
  /** POSTs an intent; returns its run as created (201 expected by the caller). */
  const submit = async (body: Record<string, unknown>): Promise<{ status: number; text: string; run: ApiRun }> => {
    const r = await http(url, '/intents', { body });
    return { status: r.status, text: r.text, run: r.json.run as ApiRun };
  };
  const result: { daemon: Daemon; codec: MessageCodec; url: string; until: typeof until; submit: typeof submit } = {
    daemon,
    codec,
    url,
    until,
    submit,
  };
  return result;
}
