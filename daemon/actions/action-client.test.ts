import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../bus/bus.ts';
import { MessageCodec } from '../bus/codec.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import type { BusMessage } from '../bus/types.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { ActionGoals } from './action-goals.ts';
import { BusActionClient } from './action-client.ts';
import { actionEndpoints, CANCEL_CODE, GOAL_STATUS } from './action-names.ts';
import { BusActionServer, type ActionHandler } from './action-server.ts';
import { jsonObject, jsonPayload } from './json-payload.ts';
import { uuidMessage } from './goal-id.ts';

const FIB = 'test_msgs/action/Fibonacci';
const registry = new DefinitionsRegistry({ distro: 'jazzy' });
const codec = new MessageCodec(registry);
const log = pino({ level: 'silent' });
let bus: Bus;
afterEach(() => bus?.close());

/** A Fibonacci server that sends one feedback per step, and waits on `step()` between steps when asked to. */
function fibonacci(options: { gate?: Promise<void>; reject?: string } = {}): ActionHandler {
  return {
    accept: (goal) => (options.reject ? options.reject : Number(goal.order) >= 0 || 'order must be >= 0'),
    async execute(goal, { feedback, signal }) {
      const sequence = [0, 1];
      for (let i = 2; i <= Number(goal.order); i++) {
        if (options.gate && !signal.aborted)
          await Promise.race([options.gate, new Promise((r) => signal.addEventListener('abort', r))]);
        if (signal.aborted) return { state: 'canceled', result: { sequence } };
        sequence.push(sequence[i - 1]! + sequence[i - 2]!);
        feedback({ sequence: [...sequence] });
      }
      return { state: 'succeeded', result: { sequence } };
    },
  };
}

function setup(handler: ActionHandler = fibonacci()) {
  bus = new Bus();
  const server = new BusActionServer({ bus, codec, name: '/fibonacci', type: FIB, handler, log });
  const goals = new ActionGoals();
  const client = new BusActionClient({ bus, codec, name: '/fibonacci', type: FIB, track: goals });
  const statuses: number[][] = [];
  bus.subscribe({
    name: 'status watch',
    topic: '/fibonacci/_action/status',
    queue: { policy: 'drop-oldest', depth: 100 },
    handler: (m: BusMessage) =>
      void statuses.push(
        codec
          .decode<{ status_list: { status: number }[] }>('action_msgs/msg/GoalStatusArray', m.data)
          .status_list.map((s) => s.status),
      ),
  });
  return { server, client, goals, statuses };
}

describe('an action on the bus', () => {
  it('is made of the services and topics rcl_action names, so a bridge that carries those carries it', () => {
    const { server } = setup();
    expect(bus.queryables().sort()).toEqual([
      '/fibonacci/_action/cancel_goal',
      '/fibonacci/_action/get_result',
      '/fibonacci/_action/send_goal',
    ]);
    const topics = Object.fromEntries(bus.stats().map((s) => [s.topic, [s.type, s.qos.durability]]));
    expect(topics['/fibonacci/_action/feedback']).toEqual(['test_msgs/action/Fibonacci_FeedbackMessage', 'volatile']);
    expect(topics['/fibonacci/_action/status']).toEqual(['action_msgs/msg/GoalStatusArray', 'transient_local']);
    server.close();
  });

  it('accepts a goal, streams its feedback in order, and gives its result', async () => {
    const { client, statuses } = setup();
    const feedback: number[][] = [];
    const goal = await client.sendGoal({ order: 5 }, { onFeedback: (f) => void feedback.push(f.sequence as number[]) });
    expect(goal).toBeDefined();
    const outcome = await goal!.result();
    expect(outcome).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2, 3, 5] } });
    expect(feedback.map((s) => s.at(-1))).toEqual([1, 2, 3, 5]);
    // accepted, executing, succeeded: each change published
    await waitFor(() => statuses.some((s) => s[0] === GOAL_STATUS.succeeded), 'the final status');
    expect(statuses.map((s) => s[0])).toEqual(
      expect.arrayContaining([GOAL_STATUS.accepted, GOAL_STATUS.executing, GOAL_STATUS.succeeded]),
    );
  });

  it('says a rejected goal was rejected, and refuses a goal with a wrong field before sending it', async () => {
    const { client } = setup(fibonacci({ reject: 'busy' }));
    expect(await client.sendGoal({ order: 3 })).toBeUndefined();
    await expect(client.sendGoal({ order: 3, speed: 2 })).rejects.toThrow(/speed/);
  });

  it('cancels a running goal: the server sees it, the goal ends canceled, and the stop registry forgets it', async () => {
    let release!: () => void;
    const { client, goals, server } = setup(fibonacci({ gate: new Promise((r) => (release = r)) }));
    const goal = await client.sendGoal({ order: 10 });
    await waitFor(() => server.active().length === 1, 'the goal running');
    expect(goals.inFlight()).toEqual([{ action: '/fibonacci', goalId: goal!.goalId }]);
    const pending = goal!.result();
    const cancelled = await goals.cancelAll();
    expect(cancelled).toEqual([{ action: '/fibonacci', goalId: goal!.goalId, returnCode: CANCEL_CODE.none }]);
    expect(await pending).toMatchObject({ state: 'canceled' });
    expect(goals.inFlight()).toEqual([]);
    expect(server.active()).toEqual([]);
    release();
  });

  it('answers cancel_goal with GOAL_TERMINATED for an ended goal and UNKNOWN_GOAL_ID for one it never had', async () => {
    const { client } = setup();
    const goal = await client.sendGoal({ order: 2 });
    await goal!.result();
    expect(await goal!.cancel()).toEqual({ returnCode: CANCEL_CODE.goalTerminated });
    const reply = jsonObject(
      'reply',
      await bus.query(
        '/fibonacci/_action/cancel_goal',
        jsonPayload({ goal_info: { goal_id: uuidMessage('ab'.repeat(16)), stamp: { sec: 0, nanosec: 0 } } }),
      ),
    );
    expect(reply.return_code).toBe(CANCEL_CODE.unknownGoalId);
  });

  it('ends a goal aborted, with the reason, when its server goes away mid-goal, and never hangs', async () => {
    const { client, server } = setup(fibonacci({ gate: new Promise(() => undefined) }));
    const goal = await client.sendGoal({ order: 10 });
    const pending = goal!.result();
    await waitFor(() => server.active().length === 1, 'the goal running');
    server.close();
    expect(await pending).toMatchObject({ state: 'aborted' });
    // A result asked after the server left: the client says it is gone.
    expect(await goal!.result()).toMatchObject({ state: 'aborted', reason: 'the action server of /fibonacci is gone' });
  });

  it('refuses a second goal with the same id, and a goal id that is not 16 bytes', async () => {
    setup();
    const ends = actionEndpoints('/fibonacci', FIB);
    const send = (id: number[]) =>
      bus
        .query(ends.sendGoal, jsonPayload({ goal_id: { uuid: id }, goal: { order: 1 } }))
        .then((r) => jsonObject('r', r));
    const id = Array.from({ length: 16 }, (_, i) => i);
    expect((await send(id)).accepted).toBe(true);
    expect((await send(id)).accepted).toBe(false);
    await expect(send([1, 2, 3])).rejects.toThrow(/goal_id must be/);
  });

  it('skips and counts feedback that does not decode, and still gives the result', async () => {
    let release!: () => void;
    const { client } = setup(fibonacci({ gate: new Promise((r) => (release = r)) }));
    const goal = await client.sendGoal({ order: 3 }, { onFeedback: () => undefined });
    const garbage = bus.advertise('/fibonacci/_action/feedback', 'test_msgs/action/Fibonacci_FeedbackMessage', {
      source: 'peer',
    });
    garbage.publish(Uint8Array.of(0, 1, 0, 0, 9));
    await waitFor(() => client.malformedFeedback === 1, 'the bad feedback counted');
    release();
    expect(await goal!.result()).toMatchObject({ state: 'succeeded' });
  });
});
