import type { ApprovalFlow } from './approval-flow.ts';
import { unansweredCalls, type RunStore } from './run-store.ts';

/**
 * After the store is rebuilt from the journal at start: runs that were running or pending come back
 * `interrupted` (a call a skill was acting on gets a result saying so, not none), and runs that waited for
 * approval wait again. `stopped`: the agent was stopped meanwhile (the supervisor's start budget ran out), so
 * the agent made next serves, not this one; the rest is left as it is.
 */
export async function recoverRuns(store: RunStore, approvals: ApprovalFlow, stopped: () => boolean): Promise<void> {
  for (const record of [...store.all()]) {
    if (stopped()) return;
    const { status } = record.run;
    if (status === 'running' || status === 'pending') {
      // Killed (or crashed) while a skill acted: its call gets a result saying so, not none.
      const open = unansweredCalls(record);
      if (open.length > 0) {
        await store.events(
          record.run.run_id,
          open.map((call) => ({
            kind: 'tool.result',
            payload: {
              call_id: call.call_id,
              tool: call.tool,
              result: {
                ok: false,
                error: `the daemon stopped while ${call.tool} was acting (it did not shut down cleanly): what it did is unknown`,
              },
              run_ended: 'interrupted',
              duration_ms: null,
            },
          })),
        );
      }
      await store.transition(
        record.run.run_id,
        'interrupted',
        `the daemon stopped while the run was ${status}; submit the intent again to retry`,
      );
    } else if (status === 'awaiting_approval') {
      approvals.rearm(record);
    }
  }
}
