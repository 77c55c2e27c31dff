import type { HaltHookOutcome } from '../contract/index.ts';
import type { GoalHandle } from './action-client.ts';
import { errorText } from '../util/index.ts';

/** What cancelling one goal gave. */
export interface CancelledGoal {
  action: string;
  goalId: string;
  /** action_msgs/srv/CancelGoal's return code, or the error when the cancel itself failed. */
  returnCode?: number;
  error?: string;
}

/** What the stop needs of a goal: a client's handle, or a relayed goal's (docs/joined-graphs.md). */
export type TrackedGoal = Pick<GoalHandle, 'action' | 'goalId' | 'cancel'>;

/**
 * The goals the daemon has sent and that have not ended, across every action client and relay: what the operator's
 * stop cancels. One instance per daemon, handed to every action client and relay as its `track`.
 *
 * A goal is one entry by its id, however many parts follow it: the daemon's own goal to an action relayed to another
 * graph is started by its client and again by the relay that carries it, and the stop must name it and cancel it
 * once. The first part to start it cancels it; it is in flight until the last of them ends it.
 */
export class ActionGoals {
  /** By goal id: the handles following it, in the order they started. */
  #goals = new Map<string, TrackedGoal[]>();

  started(goal: TrackedGoal): void {
    const following = this.#goals.get(goal.goalId);
    if (following === undefined) this.#goals.set(goal.goalId, [goal]);
    else if (!following.includes(goal)) following.push(goal);
  }

  ended(goal: TrackedGoal): void {
    const following = this.#goals.get(goal.goalId)?.filter((g) => g !== goal);
    if (following === undefined) return;
    if (following.length === 0) this.#goals.delete(goal.goalId);
    else this.#goals.set(goal.goalId, following);
  }

  inFlight(): { action: string; goalId: string }[] {
    return this.#cancellers().map(({ action, goalId }) => ({ action, goalId }));
  }

  /** Sends a cancel for every goal in flight, once each, all at once, and says what each server answered. */
  async cancelAll(): Promise<CancelledGoal[]> {
    return Promise.all(
      this.#cancellers().map(async (goal): Promise<CancelledGoal> => {
        const { action, goalId } = goal;
        try {
          return { action, goalId, returnCode: (await goal.cancel()).returnCode };
        } catch (error) {
          return { action, goalId, error: errorText(error) };
        }
      }),
    );
  }

  /** The operator's stop's hook (HaltAuthority.onHalt): every goal in flight cancelled, named in the stop's report. */
  onOperatorHalt(): HaltHookOutcome {
    return {
      settled: this.cancelAll().then((goals) => ({
        goals: goals.map((g) => `${g.action} ${g.goalId}`),
        problems: goals.flatMap((g) => (g.error ? [`the goal ${g.goalId} of ${g.action}: ${g.error}`] : [])),
      })),
    };
  }

  /** One handle a goal: the first that started it. */
  #cancellers(): TrackedGoal[] {
    return [...this.#goals.values()].map((following) => following[0]!);
  }
}
