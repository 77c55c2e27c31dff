import type { StopHookOutcome } from '../contract/index.ts';
import type { GoalHandle } from './action-client.ts';

/** What cancelling one goal gave. */
export interface CancelledGoal {
  action: string;
  goalId: string;
  /** action_msgs/srv/CancelGoal's return code, or the error when the cancel itself failed. */
  returnCode?: number;
  error?: string;
}

/**
 * The goals the daemon has sent and that have not ended, across every action client: what the operator's stop
 * cancels. One instance per daemon, handed to every action client as its `track`.
 */
/** What the stop needs of a goal: a client's handle, or a relayed goal's (docs/joined-graphs.md). */
export type TrackedGoal = Pick<GoalHandle, 'action' | 'goalId' | 'cancel'>;

export class ActionGoals {
  #goals = new Set<TrackedGoal>();

  started(goal: TrackedGoal): void {
    this.#goals.add(goal);
  }

  ended(goal: TrackedGoal): void {
    this.#goals.delete(goal);
  }

  inFlight(): { action: string; goalId: string }[] {
    return [...this.#goals].map(({ action, goalId }) => ({ action, goalId }));
  }

  /** Sends a cancel for every goal in flight, all at once, and says what each server answered. */
  async cancelAll(): Promise<CancelledGoal[]> {
    return Promise.all(
      [...this.#goals].map(async (goal): Promise<CancelledGoal> => {
        const { action, goalId } = goal;
        try {
          return { action, goalId, returnCode: (await goal.cancel()).returnCode };
        } catch (error) {
          return { action, goalId, error: (error as Error).message };
        }
      }),
    );
  }

  /** The operator's stop's hook (StopAuthority.onStop): every goal in flight cancelled, named in the stop's report. */
  onOperatorStop(): StopHookOutcome {
    return {
      settled: this.cancelAll().then((goals) => ({
        goals: goals.map((g) => `${g.action} ${g.goalId}`),
        problems: goals.flatMap((g) => (g.error ? [`the goal ${g.goalId} of ${g.action}: ${g.error}`] : [])),
      })),
    };
  }
}
