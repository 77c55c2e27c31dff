import type { ExternalRun, ExternalRunStatus, Intent } from '../contract/index.ts';
import type { RunStore } from './run-store.ts';

/**
 * A run for what an intake did outside the agent's runs (see ExternalRun): made in the run store as any run
 * is, never run by the agent, and ended from its second record: the store makes every run pending first, and a
 * stop in that one journal write may cancel it (the stop's reply then lists it) before it is ended as asked.
 */
export async function openExternalRun(
  store: RunStore,
  intent: Intent,
  treeRef: string,
  status: ExternalRunStatus,
  reason: string,
): Promise<ExternalRun> {
  const { run } = await store.create(intent, treeRef);
  await store.transition(run.run_id, status, reason);
  return {
    runId: run.run_id,
    note: async (events) => void (await store.events(run.run_id, events)),
    end: async (end, why) => void (await store.transition(run.run_id, end, why)),
  };
}
