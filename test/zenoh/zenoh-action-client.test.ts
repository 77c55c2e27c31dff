import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BusActionClient, listActions } from '../../daemon/actions/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const SERVER = resolve('test/peers/zenoh/action_server.py');
const TYPE = 'test_msgs/action/Fibonacci';

// The daemon as the action client of a server on Zenoh (test/peers/zenoh/action_server.py, written here to
// rmw_zenoh's and zenoh-bridge-ros2dds's keys): zenoh.actions.call serves it on the bus, where the CLI, the agent
// and the stop reach it as any bus action.
describe('an action server on Zenoh, used by the daemon', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  const mappings = [
    { mapping: 'rmw_zenoh', action: '/fibonacci', zenoh: {} },
    {
      mapping: 'ros2dds',
      action: '/fibonacci',
      zenoh: { mapping: 'ros2dds', namespace: '/bot1' },
      key: 'bot1/fibonacci',
    },
  ] as const;

  for (const m of mappings) {
    it(`${m.mapping}: streams feedback and the result, reports a rejected goal, and is listed with its type`, async () => {
      const { daemon, codec, stop } = await startDaemon({
        zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] }, ...m.zenoh },
      });
      cleanups.push(stop);
      const server = await peer(serverSpec(daemon.definitions, m), SERVER);
      const client = new BusActionClient({ bus: daemon.bus, codec, name: m.action, type: TYPE });
      await waitFor(() => client.available(), 'the Zenoh action on the bus');
      expect(listActions(daemon.bus, daemon.graph.endpoints())).toEqual([
        expect.objectContaining({ name: '/fibonacci', types: [TYPE], onBus: true }),
      ]);

      const feedback: number[][] = [];
      const handle = await client.sendGoal(
        { order: 5 },
        { onFeedback: (f) => void feedback.push(f.sequence as number[]) },
      );
      expect(handle).toBeDefined();
      const accepted = await server.next((e) => e.event === 'accepted', 'the goal at the server');
      expect(accepted.goal).toBe(handle!.goalId);
      const outcome = await handle!.result({ timeoutMs: 20_000 });
      expect(outcome).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2, 3] } });
      expect(feedback.map((s) => [...s])).toEqual([[0], [0, 1], [0, 1, 1], [0, 1, 1, 2], [0, 1, 1, 2, 3]]);

      expect(await client.sendGoal({ order: -1 })).toBeUndefined();
      await server.next((e) => e.event === 'rejected', 'the rejected goal at the server');
      await server.close();
    });

    it(`${m.mapping}: the operator's stop cancels the goal at the server`, async () => {
      const { daemon, codec, stop } = await startDaemon({
        zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] }, ...m.zenoh },
      });
      cleanups.push(stop);
      const server = await peer({ ...serverSpec(daemon.definitions, m), step_s: 0.2 }, SERVER);
      const client = new BusActionClient({
        bus: daemon.bus,
        codec,
        name: m.action,
        type: TYPE,
        track: daemon.actionGoals,
      });
      await waitFor(() => client.available(), 'the Zenoh action on the bus');
      const handle = (await client.sendGoal({ order: 100 }))!;
      const result = handle.result({ timeoutMs: 20_000 });
      await server.next((e) => e.event === 'feedback', 'the goal running');
      const stopped = await daemon.robotStop.stop('ada', 'test');
      expect(stopped.goals).toEqual([`/fibonacci ${handle.goalId}`]);
      const cancel = await server.next((e) => e.event === 'cancel', 'the cancel at the server');
      expect(cancel).toMatchObject({ goal: handle.goalId, known: true });
      expect((await result).state).toBe('canceled');
      await daemon.robotStop.release('ada');
      await server.close();
    });
  }

  // The remote-api bridge sends a query's final as a frame of its own, which Nagle's algorithm on its socket may hold
  // for Linux's 40 ms delayed ACK: the daemon takes the server's answer without waiting for the final.
  it("takes a goal as accepted at the server's answer, while the server still holds its query open", async () => {
    const m = mappings[0];
    const { daemon, codec, stop } = await startDaemon({
      // Longer than the test may run: a goal accepted only at the query's end would never be.
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        actions: { call: ['/fibonacci'] },
        services: { timeout_ms: 600_000 },
      },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions, m), hold_send_goal: true }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: m.action, type: TYPE });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    let handle;
    try {
      handle = await client.sendGoal({ order: 2 });
      expect(handle).toBeDefined();
      await server.next((e) => e.event === 'holding', 'the server holding its query');
    } finally {
      server.send('release'); // else its held query outlives a failed test, and the next ones meet it
    }
    expect(await handle!.result({ timeoutMs: 20_000 })).toMatchObject({ state: 'succeeded' });
    await server.close();
  });

  it('asks get_result again when a get_result ends with no result while the status says the goal runs', async () => {
    // A get_result may end with no reply while the goal runs on (its query timed out, a router on the way dropped it):
    // the server here finishes the first one so.
    const m = mappings[1];
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] }, ...m.zenoh },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions, m), step_s: 0.1, drop_get_results: 1 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: m.action, type: TYPE });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    const handle = (await client.sendGoal({ order: 4 }))!;
    const outcome = await handle.result({ timeoutMs: 20_000 });
    expect(server.events.filter((e) => e.event === 'get_result_dropped')).toHaveLength(1);
    expect(outcome).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2] } });
    await server.close();
  });

  it("shows a goal's state as the server's status topic says, and ends it aborted when the server aborts it", async () => {
    const m = mappings[0];
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions, m), step_s: 0.2, abort_at: 3 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: m.action, type: TYPE });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    const handle = (await client.sendGoal({ order: 10 }))!;
    const result = handle.result({ timeoutMs: 20_000 });
    const goals = () =>
      (daemon.status().components.zenoh?.details as { actions?: { goals?: unknown[] } }).actions?.goals ?? [];
    await waitFor(() => goals().length > 0, "the goal's state from the status topic");
    expect(goals()).toEqual([{ action: '/fibonacci', goal: handle.goalId, state: 'executing' }]);
    expect(await result).toMatchObject({ state: 'aborted', result: { sequence: [0, 1, 1] } });
    await server.close();
  });

  it('ends a goal aborted, with the reason logged, when its server dies mid-goal', async () => {
    const m = mappings[0];
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions, m), step_s: 0.2 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: m.action, type: TYPE });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    const handle = (await client.sendGoal({ order: 100 }))!;
    const result = handle.result({ timeoutMs: 60_000 });
    await server.next((e) => e.event === 'feedback', 'the goal running');
    server.send('die');
    const outcome = await result;
    expect(outcome.state).toBe('aborted');
    expect(daemon.status().components.zenoh?.details).toMatchObject({
      actions: {
        last_aborted: {
          action: '/fibonacci',
          goal: handle.goalId,
          reason: expect.stringMatching(
            /^the action server of \/fibonacci (on Zenoh ended get_result with no result: it )?left the/,
          ),
        },
      },
    });
    await waitFor(() => !client.available(), 'the action gone from the bus');
  });
});

function serverSpec(
  definitions: Parameters<typeof typeDescriptionHash>[0],
  m: { mapping: string; action: string; key?: string },
): Record<string, unknown> {
  const hash = (type: string) => typeDescriptionHash(definitions, type);
  return {
    mapping: m.mapping,
    action: m.action,
    ...(m.key ? { key: m.key } : {}),
    hashes: {
      send_goal: hash(`${TYPE}_SendGoal`),
      cancel_goal: hash('action_msgs/srv/CancelGoal'),
      get_result: hash(`${TYPE}_GetResult`),
      feedback: hash(`${TYPE}_FeedbackMessage`),
      status: hash('action_msgs/msg/GoalStatusArray'),
    },
  };
}
