import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BusActionClient } from '../../daemon/actions/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { UNLIMITED_VELOCITY } from '../helpers/motion.ts';
import { jsonQuery } from '../helpers/json-query.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { bridgeAdminKeys, useDdsWorld } from './dds-world.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const STRING = 'std_msgs/msg/String';
const TWIST = 'geometry_msgs/msg/Twist';
const FIBONACCI = 'test_msgs/action/Fibonacci';

/**
 * The daemon (ros2dds mapping, through zenoh-bridge-remote-api) against a robot as a lab runs it: ROS 2 nodes on
 * DDS (Cyclone DDS, written with ROS 2's conventions) behind the real zenoh-bridge-ros2dds (the crates.io plugin),
 * both connected to one Zenoh router. No peer here was written from our reading of the bridge's keys.
 */
describe('the daemon against the real zenoh-bridge-ros2dds and ROS 2 nodes on Cyclone DDS', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useDdsWorld(zn);

  it("receives a DDS node's topic with its exact value", async () => {
    const talker = await world.dds.node({
      node: 'talker',
      role: 'publisher',
      topic: '/chatter',
      type: 'String',
      values: ['hello ünïcode 1', 'hello 2'],
      repeat: true,
    });
    cleanups.push(() => talker.close());
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1', topics: ['/chatter'] },
    });
    cleanups.push(stop);
    await waitFor(
      () => daemon.graph.endpoints({ name: '/chatter', kind: 'publisher' }).length > 0,
      "the DDS talker's /chatter in the daemon's graph",
    );
    expect(daemon.graph.endpoints({ name: '/chatter', kind: 'publisher' })[0]).toMatchObject({ type: STRING });
    const got: unknown[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/chatter',
      handler: (m) => void got.push(codec.decode(STRING, m.data)),
    });
    await waitFor(() => got.length >= 2, '/chatter samples on the bus');
    expect(got).toContainEqual({ data: 'hello ünïcode 1' });
    expect(got).toContainEqual({ data: 'hello 2' });
  });

  it('publishes /cmd_vel that a DDS node receives with its exact values', async () => {
    const base = await world.dds.node({ node: 'base', role: 'subscriber', topic: '/cmd_vel', type: 'Twist' });
    cleanups.push(() => base.close());
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1', publish: ['/cmd_vel'] },
      ...UNLIMITED_VELOCITY,
    });
    cleanups.push(stop);
    const pub = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    const twist = codec.encode(TWIST, { linear: { x: 0.25, y: -0.5 }, angular: { z: 1.125 } });
    await waitFor(
      () => (pub.publish(twist), base.events.some((e) => e.event === 'received')),
      '/cmd_vel at the DDS node',
      30_000,
    );
    expect(base.events.find((e) => e.event === 'received')!.value).toEqual({
      linear: [0.25, -0.5, 0],
      angular: [0, 0, 1.125],
    });
    pub.close();
  });

  it("calls a DDS node's Trigger service through the bridge, executed once", async () => {
    const server = await world.dds.node({ node: 'resetter', role: 'trigger_server', service: '/reset' });
    cleanups.push(() => server.close());
    const { daemon, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        services: { call: ['/reset'], timeout_ms: 5000 },
      },
    });
    cleanups.push(stop);
    await waitFor(() => daemon.bus.queryables().includes('/reset'), '/reset served on the bus', 30_000);
    await waitFor(() => daemon.status().components.zenoh?.state === 'running', 'the link up');
    const reply = await daemon.bus.query('/reset', jsonQuery({}), { timeoutMs: 10_000 });
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ success: true, message: 'triggered 1' });
    // The reply comes before the node's own line about it (the call ends at the first reply). A second call on the
    // same route: the first, run twice, would have been served before it.
    await server.next((e) => e.event === 'served', 'the call at the node');
    const again = await daemon.bus.query('/reset', jsonQuery({}), { timeoutMs: 10_000 });
    expect(JSON.parse(new TextDecoder().decode(again.payload))).toEqual({ success: true, message: 'triggered 2' });
    await waitFor(() => server.events.filter((e) => e.event === 'served').length >= 2, 'the second call at the node');
    expect(server.events.filter((e) => e.event === 'served')).toHaveLength(2);
  });

  it("answers a DDS node's call of the operator's stop, served by the daemon as a Trigger, and latches", async () => {
    const { daemon, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        services: { serve: [{ query: 'agent/stop', service: '/auraison/stop', type: 'std_srvs/srv/Trigger' }] },
      },
    });
    cleanups.push(stop);
    await waitFor(
      () => daemon.graph.endpoints({ name: '/auraison/stop', kind: 'service' }).some((e) => e.local),
      'our stop service token',
    );
    expect(daemon.haltAuthority.refusal()).toBeUndefined();
    const operator = await world.dds.node({ node: 'operator', role: 'trigger_client', service: '/auraison/stop' });
    cleanups.push(() => operator.close());
    const answer = await operator.next((e) => e.event === 'response' || e.event === 'timeout', 'the answer', 30_000);
    expect(answer).toMatchObject({ event: 'response', success: true });
    expect(JSON.parse(String(answer.message))).toMatchObject({ latched: { by: 'bus', persisted: true } });
    expect(daemon.haltAuthority.refusal()).toBeDefined();
  });

  it('gets a transient_local topic a DDS node published before the daemon started', async () => {
    const mapper = await world.dds.node({
      node: 'map_server',
      role: 'publisher',
      topic: '/map_name',
      type: 'String',
      durability: 'transient_local',
      depth: 1,
      values: ['maze-v3'],
    });
    cleanups.push(() => mapper.close());
    await mapper.next((e) => e.event === 'published', 'the map name published');
    // The bridge routes it (its cache holds it) before the daemon exists.
    let keys: string[] = [];
    await waitFor(
      async () =>
        (keys = await bridgeAdminKeys(zn.net.wsUrl, '@/*/ros2/route/topic/**')).some((k) => k.endsWith('map_name')),
      "the bridge's route of /map_name",
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; the bridge's routes: ${keys.join(', ')}`, { cause: error });
    });
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1', topics: ['/map_name'] },
    });
    cleanups.push(stop);
    const got: unknown[] = [];
    daemon.bus.subscribe({
      name: 'test',
      topic: '/map_name',
      handler: (m) => void got.push(codec.decode(STRING, m.data)),
    });
    await waitFor(() => got.length > 0, 'the late daemon to get the latched /map_name', 30_000);
    expect(got).toEqual([{ data: 'maze-v3' }]);
  });

  it("drives a DDS node's action through the bridge: feedback, result, a rejected goal, and the stop's cancel", async () => {
    const server = await world.dds.node({
      node: 'fib',
      role: 'fibonacci_server',
      action: '/fibonacci',
      period_s: 0.05,
    });
    cleanups.push(() => server.close());
    const { daemon, codec, stop } = await startDaemon({
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        actions: { call: ['/fibonacci'] },
      },
    });
    cleanups.push(stop);
    const client = new BusActionClient({
      bus: daemon.bus,
      codec,
      name: '/fibonacci',
      type: FIBONACCI,
      track: daemon.actionGoals,
    });
    await waitFor(() => client.available(), "the DDS node's action on the bus", 30_000);

    const feedback: number[][] = [];
    const handle = (await client.sendGoal(
      { order: 5 },
      { onFeedback: (f) => void feedback.push([...(f.sequence as number[])]) },
    ))!;
    expect(handle).toBeDefined();
    const outcome = await handle.result({ timeoutMs: 20_000 });
    expect(outcome).toMatchObject({ state: 'succeeded', result: { sequence: [0, 1, 1, 2, 3, 5] } });
    expect(feedback.at(-1)).toEqual([0, 1, 1, 2, 3, 5]);
    const goal = server.events.find((e) => e.event === 'goal')!;
    expect(goal).toMatchObject({ order: 5, accepted: true });

    expect(await client.sendGoal({ order: -1 })).toBeUndefined();
    await server.next((e) => e.event === 'goal' && e.accepted === false, 'the rejected goal at the server');

    // The operator's stop cancels a goal the DDS node is executing, at the node.
    const long = (await client.sendGoal({ order: 10_000 }))!;
    const ended = long.result({ timeoutMs: 20_000 });
    await waitFor(() => server.events.filter((e) => e.event === 'goal').length === 3, 'the long goal at the server');
    const stopped = await daemon.haltAuthority.halt('ada', 'test');
    expect(stopped.goals).toEqual([`/fibonacci ${long.goalId}`]);
    await server.next((e) => e.event === 'cancel' && e.canceling === 1, 'the cancel at the DDS node');
    expect((await ended).state).toBe('canceled');
  });

  // The bridge asks history of the daemon's transient_local publisher as zenoh-ext's AdvancedSubscriber does
  // (`<key>/@adv/**`): the daemon's advanced-publisher cache answers it.
  it('a DDS node started after the daemon gets its transient_local topic', async () => {
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [MSGS] } },
      zenoh: {
        enabled: true,
        endpoint: zn.net.wsUrl,
        mapping: 'ros2dds',
        namespace: '/bot1',
        publish: ['/robot_name'],
      },
    });
    cleanups.push(stop);
    const pub = daemon.bus.advertise('/robot_name', STRING, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 1 },
    });
    pub.publish(codec.encode(STRING, { data: 'tb3-1' }));
    // Sent to the link before the reader exists (or held for it, then sent again once it is up).
    type Outbound = { sent: number; resent: number };
    const outbound = () =>
      (daemon.status().components.zenoh!.details as { outbound: Record<string, Outbound> }).outbound;
    await waitFor(
      () => {
        const topic = outbound()['/robot_name'];
        return !!topic && topic.sent + topic.resent >= 1;
      },
      '/robot_name sent on the link',
      30_000,
    );
    const late = await world.dds.node({
      node: 'late',
      role: 'subscriber',
      topic: '/robot_name',
      type: 'String',
      durability: 'transient_local',
      depth: 1,
    });
    cleanups.push(() => late.close());
    const got = await late.next((e) => e.event === 'received', 'the late DDS node to get /robot_name', 10_000);
    expect(got.value).toBe('tb3-1');
  });
});
