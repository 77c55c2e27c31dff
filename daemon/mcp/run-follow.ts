import type { AgentEvent, RunState } from '../contract/index.ts';
import { TERMINAL } from '../agent/index.ts';
import { sleep } from '../util/index.ts';
import type { ApiCaller } from './api-caller.ts';

/** How often a followed run is asked for: runs end in tens of ms (a publish) to minutes (navigation). */
const POLL_MS = 50;

export interface FollowedRun {
  run: RunState;
  events: AgentEvent[];
  /** True when the run had not ended (nor stopped for an approval) within the wait. */
  still_running: boolean;
}

/**
 * Follows a run through GET /runs/:id until it ends, waits for a person's approval, or `waitS` passes.
 * Polls the API as any client would: the agent's run store is the one record, read the one way.
 */
export async function followRun(api: ApiCaller, runId: string, waitS: number): Promise<FollowedRun> {
  const deadline = performance.now() + waitS * 1000;
  for (;;) {
    const found = await api.get<{ run: RunState; events: AgentEvent[] }>(`/runs/${runId}`);
    const settled = TERMINAL.has(found.run.status) || found.run.status === 'awaiting_approval';
    if (settled || performance.now() >= deadline) return { ...found, still_running: !settled };
    await sleep(POLL_MS);
  }
}
