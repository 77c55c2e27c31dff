import { describe, expect, it } from 'vitest';
import { ActionGoals, type TrackedGoal } from './action-goals.ts';
import { newGoalId } from './goal-id.ts';

/** A goal's handle that counts the cancels sent through it. */
function handle(action: string, goalId: string): TrackedGoal & { cancels: number } {
  const goal = {
    action,
    goalId,
    cancels: 0,
    cancel: () => {
      goal.cancels++;
      return Promise.resolve({ returnCode: 0 });
    },
  };
  return goal;
}

/** One goal followed by two parts, as the daemon's client and the relay carrying its goal: the relay started first. */
function followedTwice() {
  const goals = new ActionGoals();
  const id = newGoalId();
  const relay = handle('/fibonacci', id);
  const client = handle('/fibonacci', id);
  goals.started(relay);
  goals.started(client);
  return { goals, id, relay, client };
}

describe("the daemon's goals in flight", () => {
  it("lists and cancels once a goal that both the daemon's client and the relay carrying it follow", async () => {
    const { goals, id, relay, client } = followedTwice();
    expect(goals.inFlight()).toEqual([{ action: '/fibonacci', goalId: id }]);
    const report = await goals.onOperatorHalt().settled;
    expect(report).toEqual({ goals: [`/fibonacci ${id}`], problems: [] });
    expect(relay.cancels + client.cancels).toBe(1);
  });

  it('keeps the goal in flight until the last part following it ends, and cancels it through the one left', async () => {
    const { goals, id, relay, client } = followedTwice();
    goals.ended(relay);
    expect(goals.inFlight()).toEqual([{ action: '/fibonacci', goalId: id }]);
    await goals.cancelAll();
    expect([relay.cancels, client.cancels]).toEqual([0, 1]);
    goals.ended(client);
    expect(goals.inFlight()).toEqual([]);
  });

  it('takes a handle started twice as one, ignores the end of a goal it never had, and keeps other goals apart', async () => {
    const goals = new ActionGoals();
    const one = handle('/fibonacci', newGoalId());
    const other = handle('/fibonacci', newGoalId());
    goals.started(one);
    goals.started(one);
    goals.started(other);
    goals.ended(handle('/fibonacci', newGoalId()));
    goals.ended(handle('/fibonacci', one.goalId));
    expect(goals.inFlight()).toHaveLength(2);
    await goals.cancelAll();
    expect([one.cancels, other.cancels]).toEqual([1, 1]);
    goals.ended(one);
    expect(goals.inFlight()).toEqual([{ action: '/fibonacci', goalId: other.goalId }]);
  });
});
