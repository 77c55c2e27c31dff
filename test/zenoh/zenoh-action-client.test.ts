import { resolve } from 'node:path';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import { describe, expect, it } from 'vitest';
import { BusActionClient, listActions } from '../../daemon/actions/index.ts';
import { loadZenoh } from '../../adapters/zenoh/index.ts';
import { READ_ACK_KEY } from '../../adapters/zenoh/read-acks.ts';
import { fibonacciHashes } from './fibonacci-hashes.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const SERVER = resolve('test/peers/zenoh/action_server.py');
const TYPE = 'test_msgs/action/Fibonacci';
const ACTION = '/fibonacci';

// The daemon as the action client of a server on Zenoh keyed as rmw_zenoh keys it (test/peers/zenoh/action_server.py,
// a double of rmw_zenoh_cpp, which no registry has): zenoh.actions.call serves it on the bus, where the CLI, the agent
// and the stop reach it as any bus action. The same behaviour under zenoh-bridge-ros2dds is tested against the real
// bridge and a Cyclone DDS action server (test/ros2dds).
describe('an action server on Zenoh, used by the daemon', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it('streams feedback and the result, reports a rejected goal, and is listed with its type', async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer(serverSpec(daemon.definitions), SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: ACTION, type: TYPE });
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

  it("the operator's stop cancels the goal at the server", async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions), step_s: 0.2 }, SERVER);
    const client = new BusActionClient({
      bus: daemon.bus,
      codec,
      name: ACTION,
      type: TYPE,
      track: daemon.actionGoals,
    });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    const handle = (await client.sendGoal({ order: 100 }))!;
    const result = handle.result({ timeoutMs: 20_000 });
    await server.next((e) => e.event === 'feedback', 'the goal running');
    const stopped = await daemon.haltAuthority.halt('ada', 'test');
    expect(stopped.goals).toEqual([`/fibonacci ${handle.goalId}`]);
    const cancel = await server.next((e) => e.event === 'cancel', 'the cancel at the server');
    expect(cancel).toMatchObject({ goal: handle.goalId, known: true });
    expect((await result).state).toBe('canceled');
    await daemon.haltAuthority.release('ada');
    await server.close();
  });

  // zenoh-plugin-remote-api leaves Nagle on, and Linux delays the ACKs of a socket that also sends: every frame after
  // the first of a cancel's answers (status, cancel_goal's reply, get_result's reply) waited 40 ms for one. The daemon
  // acknowledges what it reads while a query is open, with a put the bridge's session for it keeps to itself.
  it('acknowledges the frames of a cancel as it reads them, with a put that reaches no other session', async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const zenoh = await loadZenoh();
    const listener = await zenoh.Session.open(new zenoh.Config(zn.net.wsUrl));
    const other = await zenoh.Session.open(new zenoh.Config(zn.net.wsUrl));
    cleanups.push(
      () => listener.close(),
      () => other.close(),
    );
    const heard: string[] = [];
    await listener.declareSubscriber(READ_ACK_KEY, {
      handler: (sample: Sample) => void heard.push(new TextDecoder().decode(sample.payload().toBytes())),
    });
    // The key routes between sessions of the bridge when a put allows it.
    await other.put(READ_ACK_KEY, 'other 1');
    await waitFor(() => heard.length === 1, "the other session's put");

    const server = await peer({ ...serverSpec(daemon.definitions), step_s: 3600 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: ACTION, type: TYPE });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    const link = () => (daemon.status().components.zenoh?.details as { link: { readAcks: number } }).link;
    const before = link().readAcks;
    const handle = (await client.sendGoal({ order: 10 }))!;
    const result = handle.result({ timeoutMs: 20_000 });
    await handle.cancel();
    expect(await result).toMatchObject({ state: 'canceled', result: { sequence: [] } });
    expect(link().readAcks).toBeGreaterThan(before);

    // The daemon's acks went to the bridge before this put: the listener hears the other session's two alone.
    await other.put(READ_ACK_KEY, 'other 2');
    await waitFor(() => heard.length >= 2, "the other session's second put");
    expect(heard).toEqual(['other 1', 'other 2']);
    await server.close();
  });

  // The remote-api bridge sends a query's final as a frame of its own, which Nagle's algorithm on its socket may hold
  // for Linux's 40 ms delayed ACK: the daemon takes the server's answer without waiting for the final.
  it("takes a goal as accepted at the server's answer, while the server still holds its query open", async () => {
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
    const server = await peer({ ...serverSpec(daemon.definitions), hold_send_goal: true }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: ACTION, type: TYPE });
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
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions), step_s: 0.1, drop_get_results: 1 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: ACTION, type: TYPE });
    await waitFor(() => client.available(), 'the Zenoh action on the bus');
    const handle = (await client.sendGoal({ order: 4 }))!;
    const outcome = await handle.result({ timeoutMs: 20_000 });
    expect(server.events.filter((e) => e.event === 'get_result_dropped')).toHaveLength(1);
    expect(outcome).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2] } });
    await server.close();
  });

  it("shows a goal's state as the server's status topic says, and ends it aborted when the server aborts it", async () => {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions), step_s: 0.2, abort_at: 3 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: ACTION, type: TYPE });
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
    const { daemon, codec, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, actions: { call: ['/fibonacci'] } },
    });
    cleanups.push(stop);
    const server = await peer({ ...serverSpec(daemon.definitions), step_s: 0.2 }, SERVER);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: ACTION, type: TYPE });
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

function serverSpec(definitions: Parameters<typeof fibonacciHashes>[0]): Record<string, unknown> {
  return { action: ACTION, hashes: fibonacciHashes(definitions) };
}
