import { afterEach, describe, expect, it } from 'vitest';
import { BusActionClient, BusActionServer, listActions } from '../../daemon/actions/index.ts';
import { silentLogger } from '../../daemon/log.ts';
import { RESPONSE, type DoubleServerGoalHandle } from '../doubles/rclnodejs/actions.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRosDaemon } from './ros-daemon.ts';

/**
 * Actions through the rclnodejs bridge, both ways: a ROS node's action server used from the bus, and a bus action
 * served to ROS nodes, against the double's ActionClient and ActionServer (rclnodejs 2.2.0's semantics: goal and
 * cancel callbacks, a goal left active aborted, a cancel rejected by default).
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const FIB = 'test_msgs/action/Fibonacci';
type Plain = Record<string, unknown>;

/** A ROS node's Fibonacci server: one feedback a step, each step waiting on `gate` when given; cancels accepted. */
function rosFibonacci(d: Awaited<ReturnType<typeof startRosDaemon>>, options: { gate?: Promise<void> } = {}) {
  const node = d.world.peer('fibonacci_server');
  const cancels: string[] = [];
  const ActionServer = d.world.actionServerClass();
  const server = new ActionServer(
    node,
    FIB,
    '/fibonacci',
    async (handle: DoubleServerGoalHandle) => {
      const sequence = [0, 1];
      for (let i = 2; i <= Number(handle.request.order); i++) {
        // As a ROS server's loop does: between steps, look whether a cancel came.
        if (options.gate) await Promise.race([options.gate, until(() => handle.isCancelRequested)]);
        if (handle.isCancelRequested) {
          handle.canceled();
          return { sequence };
        }
        sequence.push(sequence[i - 1]! + sequence[i - 2]!);
        handle.publishFeedback({ sequence: [...sequence] });
        await new Promise((r) => setImmediate(r));
      }
      handle.succeed();
      return { sequence };
    },
    (goal: Plain) => (Number(goal.order) > 40 ? RESPONSE.REJECT : RESPONSE.ACCEPT),
    undefined,
    (handle?: DoubleServerGoalHandle) => {
      cancels.push(Buffer.from(handle!.goalId.uuid).toString('hex'));
      return RESPONSE.ACCEPT;
    },
  );
  return { node, server, cancels };
}

/** Resolves once `condition` holds, however long that takes (a gate may settle first). */
function until(condition: () => boolean): Promise<void> {
  return waitFor(condition, 'the condition', Infinity);
}

function busClient(d: Awaited<ReturnType<typeof startRosDaemon>>) {
  return new BusActionClient({ bus: d.daemon.bus, codec: d.codec, name: '/fibonacci', type: FIB });
}

describe('the ROS 2 bridge, actions', () => {
  it("serves a ROS node's action on the bus: goal accepted under the same id, feedback, result", async () => {
    const d = await startRosDaemon({ actions: { call: ['/fibonacci'] } });
    cleanups.push(d.stop);
    rosFibonacci(d);
    await waitFor(() => d.daemon.bus.queryables().includes('/fibonacci/_action/send_goal'), 'the action on the bus');
    expect(listActions(d.daemon.bus, d.daemon.graph.endpoints())).toEqual([
      expect.objectContaining({
        name: '/fibonacci',
        types: [FIB],
        servers: [{ node: '/fibonacci_server', source: 'ros' }],
      }),
    ]);
    const feedback: number[][] = [];
    const goal = await busClient(d).sendGoal(
      { order: 5 },
      { onFeedback: (f) => void feedback.push(f.sequence as number[]) },
    );
    expect(await goal!.result()).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2, 3, 5] } });
    expect(feedback.map((s) => s.at(-1))).toEqual([1, 2, 3, 5]);
  });

  it('says a goal the ROS server rejects was rejected, and a cancel from the bus reaches the ROS server', async () => {
    const d = await startRosDaemon({ actions: { call: ['**'] } });
    cleanups.push(d.stop);
    let release!: () => void;
    const { cancels } = rosFibonacci(d, { gate: new Promise((r) => (release = r)) });
    await waitFor(() => d.daemon.bus.queryables().includes('/fibonacci/_action/send_goal'), 'the action on the bus');
    const client = busClient(d);
    expect(await client.sendGoal({ order: 41 })).toBeUndefined();
    const goal = (await client.sendGoal({ order: 10 }))!;
    const pending = goal.result();
    expect(await goal.cancel()).toEqual({ returnCode: 0 });
    expect(await pending).toMatchObject({ state: 'canceled' });
    expect(cancels).toEqual([goal.goalId]);
    release();
  });

  it('drops the action from the bus when its ROS server leaves, ending a running goal aborted', async () => {
    const d = await startRosDaemon({ actions: { call: ['**'] } });
    cleanups.push(d.stop);
    const { node } = rosFibonacci(d, { gate: new Promise(() => undefined) });
    await waitFor(() => d.daemon.bus.queryables().includes('/fibonacci/_action/send_goal'), 'the action on the bus');
    const goal = (await busClient(d).sendGoal({ order: 10 }))!;
    const pending = goal.result();
    node.destroy();
    expect(await pending).toMatchObject({ state: 'aborted' });
    await waitFor(() => !d.daemon.bus.queryables().includes('/fibonacci/_action/send_goal'), 'the action gone');
    expect(d.health().state).toBe('running');
  });

  it("serves a bus action to ROS nodes: a ROS client's goal, feedback and result, and its cancel", async () => {
    const d = await startRosDaemon({ actions: { serve: [{ action: '/fibonacci', type: FIB }] } });
    cleanups.push(d.stop);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const busServer = new BusActionServer({
      bus: d.daemon.bus,
      codec: d.codec,
      name: '/fibonacci',
      type: FIB,
      log: silentLogger(),
      handler: {
        async execute(goal, { feedback, signal }) {
          if (Number(goal.order) === 99) {
            await Promise.race([gate, new Promise((r) => signal.addEventListener('abort', r))]);
            return { state: signal.aborted ? 'canceled' : 'succeeded', result: { sequence: [] } };
          }
          feedback({ sequence: [0, 1, 1] });
          return { state: 'succeeded', result: { sequence: [0, 1, 1] } };
        },
      },
    });
    cleanups.push(() => busServer.close());
    const ActionClient = d.world.actionClientClass();
    const client = new ActionClient(d.world.peer('fibonacci_client'), FIB, '/fibonacci');
    expect(await client.waitForServer(2000)).toBe(true);
    const feedback: Plain[] = [];
    const handle = await client.sendGoal({ order: 2 }, (f) => void feedback.push(f));
    expect(handle.accepted).toBe(true);
    expect(await handle.getResult()).toEqual({ sequence: [0, 1, 1] });
    expect(handle.isSucceeded()).toBe(true);
    await waitFor(() => feedback.length === 1, 'the feedback at the ROS client');

    const long = await client.sendGoal({ order: 99 });
    await waitFor(() => busServer.active().length === 1, 'the goal on the bus');
    expect((await long.cancelGoal()).return_code).toBe(0);
    await long.getResult();
    expect(long.isCanceled()).toBe(true);
    release();
  });
});
