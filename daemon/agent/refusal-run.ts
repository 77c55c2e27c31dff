import type { Intent, RefusalRun } from '../contract/index.ts';
import type { RunStore } from './run-store.ts';

/**
 * A run for calls an intake refused before they became intents (see RefusalRun): made in the run store as any
 * run is, never run by the agent, and failed from its first record.
 */
export async function openRefusalRun(
  store: RunStore,
  intent: Intent,
  treeRef: string,
  reason: string,
): Promise<RefusalRun> {
  const { run } = await store.create(intent, treeRef);
  await store.transition(run.run_id, 'failed', reason);
  return {
    runId: run.run_id,
    note: async (events) => void (await store.events(run.run_id, events)),
    end: async (reason) => void (await store.transition(run.run_id, 'failed', reason)),
  };
}
