import type { Reply } from '@eclipse-zenoh/zenoh-ts';
import { describe, expect, it } from 'vitest';
import { BusActionClient } from '../../daemon/actions/index.ts';
import { loadZenoh } from '../../adapters/zenoh/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { fibonacciServer } from '../helpers/fibonacci-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { useDdsWorld, type DdsEvent } from './dds-world.ts';

const FIBONACCI = 'test_msgs/action/Fibonacci';

/**
 * A bus action the daemon serves (zenoh.actions.serve, ros2dds mapping), used by an rcl_action-shaped client on
 * Cyclone DDS through the real zenoh-bridge-ros2dds: the bridge routes an action only for the `AS` token its own
 * action servers announce, so this is what a robot's DDS nodes see of the daemon's actions.
 */
describe("the daemon's action served to a DDS action client through the real zenoh-bridge-ros2dds", () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useDdsWorld(zn);

  async function serving(action: string) {
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        actions: { serve: [{ action, type: FIBONACCI }] },
      },
    });
    cleanups.push(stop);
    const { server, cancelled } = fibonacciServer({
      bus: daemon.bus,
      codec,
      name: action,
      type: FIBONACCI,
      stepMs: 100,
    });
    cleanups.push(async () => server.close());
    await waitFor(
      () => daemon.graph.endpoints({ name: `${action}/_action/send_goal`, kind: 'service' }).some((e) => e.local),
      "the daemon's action token",
      30_000,
    );
    return { daemon, cancelled };
  }

  const of = (events: DdsEvent[], event: string) => events.filter((e) => e.event === event);

  // The bridge's admin space (`@/<zid>/ros2/route/...`) lists the remote routes each of its routes serves.
  it("announces its client of a DDS node's action with an AC token, which the bridge takes as a remote route", async () => {
    const server = await world.dds.node({
      node: 'fib',
      role: 'fibonacci_server',
      action: '/fib_server',
      period_s: 0.05,
    });
    cleanups.push(() => server.close());
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        actions: { call: ['/fib_server'] },
      },
    });
    cleanups.push(stop);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: '/fib_server', type: FIBONACCI });
    await waitFor(() => client.available(), "the DDS node's action on the bus", 30_000);
    const ends = () => daemon.graph.endpoints({ name: '/fib_server/_action/send_goal' });
    // The action is on the bus once the bridge's AS token is heard; the daemon's own AC token follows it.
    await waitFor(() => ends().some((e) => e.local && e.kind === 'client'), 'our AC token in the graph');
    const ours = ends().find((e) => e.local && e.kind === 'client');
    const bridge = ends().find((e) => !e.local && e.kind === 'service');
    expect(ours?.id).toMatch(/^[0-9a-f]+\/AC\/bot1§fib_server$/);
    const [daemonZid, bridgeZid] = [ours!.id.split('/')[0], bridge!.id.split('/')[0]];
    const zenoh = await loadZenoh();
    const session = await zenoh.Session.open(new zenoh.Config(zn.net.wsUrl));
    cleanups.push(() => session.close());
    const routes = async () => {
      const found: unknown[] = [];
      await new Promise<void>((done) => {
        void session.get(`@/${bridgeZid}/ros2/route/action/srv/**`, {
          handler: [
            (reply: Reply) => {
              const result = reply.result();
              if (result instanceof zenoh.Sample) found.push(JSON.parse(result.payload().toString()));
            },
            () => done(),
          ],
        });
      });
      return found as { remote_routes?: string[] }[];
    };
    let seen: { remote_routes?: string[] }[] = [];
    await waitFor(
      async () => (seen = await routes()).some((r) => r.remote_routes?.includes(`${daemonZid}:bot1/fib_server`)),
      "the bridge's action server route serving the daemon's client",
      20_000,
    ).catch(() => expect(seen).toEqual('a route whose remote_routes name the daemon'));
  });

  it("follows a DDS node's goal past a get_result that timed out, by the server's status topic", async () => {
    const server = await world.dds.node({
      node: 'fib_long',
      role: 'fibonacci_server',
      action: '/fib_long',
      period_s: 0.1,
    });
    cleanups.push(() => server.close());
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        // Shorter than the goal: the first get_result ends with no result while the goal runs.
        actions: { call: ['/fib_long'], result_timeout_ms: 500 },
      },
    });
    cleanups.push(stop);
    const client = new BusActionClient({ bus: daemon.bus, codec, name: '/fib_long', type: FIBONACCI });
    await waitFor(() => client.available(), "the DDS node's action on the bus", 30_000);
    const handle = (await client.sendGoal({ order: 15 }))!;
    const result = handle.result({ timeoutMs: 30_000 });
    const details = () =>
      (daemon.status().components.zenoh?.details as { actions?: { goals?: unknown[]; resultsAskedAgain?: number } })
        .actions ?? {};
    // The server's status topic says ACCEPTED before EXECUTING; a loaded machine may show the first one first.
    const executing = () =>
      (details().goals as { state?: string }[] | undefined)?.some((g) => g.state === 'executing') ?? false;
    await waitFor(executing, "the goal's executing state from the DDS node's status topic");
    expect(details().goals).toEqual([{ action: '/fib_long', goal: handle.goalId, state: 'executing' }]);
    const outcome = await result;
    expect(outcome).toMatchObject({
      state: 'succeeded',
      result: { sequence: [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610] },
    });
    expect(details().resultsAskedAgain).toBeGreaterThan(0);
  });

  it('accepts the goal, streams its feedback once each, publishes its status and answers its result', async () => {
    await serving('/fibonacci');
    const client = await world.dds.node({
      node: 'fib_client',
      role: 'fibonacci_client',
      action: '/fibonacci',
      order: 5,
    });
    cleanups.push(() => client.close());
    const result = await client.next((e) => e.event === 'result' || e.event === 'timeout', 'the result', 30_000);
    expect(result).toEqual({ event: 'result', status: 4, sequence: [0, 1, 1, 2, 3] });
    expect(of(client.events, 'accepted')).toHaveLength(1);
    // Volatile feedback may miss a first step while routes match, but none comes twice or out of order.
    const lengths = of(client.events, 'feedback').map((e) => (e.sequence as number[]).length);
    expect(lengths.length).toBeGreaterThan(0);
    expect(lengths).toEqual([...new Set(lengths)].sort((a, b) => a - b));
    expect(of(client.events, 'feedback').at(-1)!.sequence).toEqual([0, 1, 1, 2, 3]);
    // action_msgs' GoalStatus: 4 SUCCEEDED, seen on the status topic.
    expect(of(client.events, 'status').map((e) => e.status)).toContain(4);
  });

  it('answers a goal the bus server rejects with accepted false', async () => {
    await serving('/fibonacci_reject');
    const client = await world.dds.node({
      node: 'fib_rejected',
      role: 'fibonacci_client',
      action: '/fibonacci_reject',
      order: -1,
    });
    cleanups.push(() => client.close());
    await client.next((e) => e.event === 'rejected' || e.event === 'timeout', 'the answer', 30_000);
    expect(of(client.events, 'rejected')).toHaveLength(1);
    expect(of(client.events, 'accepted')).toHaveLength(0);
  });

  it("cancels the goal at the client's cancel_goal: the bus handler sees it, the result says canceled", async () => {
    // An action of its own: the first test's daemon stays on the network until the file's cleanups.
    const { cancelled } = await serving('/fibonacci_cancel');
    const client = await world.dds.node({
      node: 'fib_canceller',
      role: 'fibonacci_client',
      action: '/fibonacci_cancel',
      order: 100,
      cancel_after: 2,
    });
    cleanups.push(() => client.close());
    const result = await client.next((e) => e.event === 'result' || e.event === 'timeout', 'the result', 30_000);
    expect(result).toMatchObject({ event: 'result', status: 5 });
    expect(of(client.events, 'cancel_response')).toEqual([{ event: 'cancel_response', return_code: 0, canceling: 1 }]);
    expect(cancelled).toHaveLength(1);
  });
});
