import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { codec, primed, startRclpyWorld, type RclpyWorld } from './rclpy-daemon.ts';
import { TopicNode, type GraphEndpoint } from './topic-node.ts';

/**
 * The daemon as a node of a real ROS 2 graph (Jazzy's wheels, Fast DDS), seen from an rclpy node: its node, its
 * publishers and subscriptions with their GIDs and QoS (the same GIDs the daemon's own graph gives), no echo of its own
 * messages on a topic it both publishes and bridges in, and a restart of the daemon while the rclpy node stays.
 */

const DOMAIN = 22;
const STRING = 'std_msgs/msg/String';
const NAME = 'edge_graph';
const FULL = `/robot1/${NAME}`;
const ROS = {
  node_name: NAME,
  namespace: '/robot1',
  topics: ['/g/**'],
  publish: ['/g/out', '/g/both'],
  topic_qos: { '/g/out': { durability: 'transient_local', depth: 3 } },
};

interface StatusEndpoint {
  id: string;
  kind: string;
  node: string;
  name: string;
  local?: boolean;
}

describe("the daemon in an rclpy node's ROS 2 graph (Jazzy)", () => {
  let world: RclpyWorld;
  let node: TopicNode;

  beforeAll(async () => {
    world = await startRclpyWorld('jazzy', DOMAIN, ROS);
    node = await TopicNode.start(world.peer, world.env, 'rclpy_graph');
    await node.publisher('/g/in', STRING);
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
  });

  const ours = (list: GraphEndpoint[]) => list.filter((e) => e.node === NAME && e.namespace === '/robot1');
  /** The daemon's endpoints on `topic` of `kind`, once rclpy's graph has one. */
  const daemonEndpoints = (topic: string, kind: 'publishers' | 'subscriptions') =>
    waitForValue(
      async () => {
        const found = ours((await node.graph(topic))[kind]);
        return found.length > 0 ? found : undefined;
      },
      `the daemon's ${kind} of ${topic} in rclpy's graph`,
      60_000,
    );
  const statusEndpoints = async () =>
    ((await world.daemon.status()) as unknown as { graph?: { endpoints?: StatusEndpoint[] } }).graph?.endpoints ?? [];

  it('shows its node, publisher and subscription with their QoS and the GIDs its own graph gives', async () => {
    world.bus.publish('/g/out', STRING, codec.encode(STRING, { data: 'latched' }));
    const [pub] = await daemonEndpoints('/g/out', 'publishers');
    const [sub] = await daemonEndpoints('/g/in', 'subscriptions');
    expect((await node.graph('/g/in')).nodes).toContain(FULL);
    expect(pub).toMatchObject({ type: STRING, qos: { reliability: 'reliable', durability: 'transient_local' } });
    expect(sub).toMatchObject({ type: STRING, qos: { reliability: 'reliable', durability: 'volatile' } });
    const [theirs] = (await node.graph('/g/in')).publishers.filter((e) => e.node === 'rclpy_graph');
    expect(pub!.gid).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set([pub!.gid, sub!.gid, theirs!.gid]).size).toBe(3);
    // the daemon's own graph (status, topic list -v) names its endpoints by the GIDs the other node sees
    const local = await waitForValue(async () => {
      const mine = (await statusEndpoints()).filter((e) => e.node === FULL && e.local === true);
      return mine.some((e) => e.name === '/g/out') && mine.some((e) => e.name === '/g/in') ? mine : undefined;
    }, "the daemon's own endpoints in its graph");
    const ids = (name: string) => local.filter((e) => e.name === name).map((e) => e.id);
    expect(ids('/g/out')).toEqual([`publisher:${pub!.gid}`]);
    expect(ids('/g/in')).toEqual([`subscriber:${sub!.gid}`]);
  }, 120_000);

  it('does not put its own messages, heard back on a topic it publishes and bridges in, on the bus again', async () => {
    await node.publisher('/g/both', STRING);
    await node.subscribe('/g/both', STRING);
    await world.bus.subscribe('/g/both');
    const onBus = () => world.bus.messages('/g/both').map((b) => codec.decode<{ data: string }>(STRING, b).data);
    const atNode = () => node.messages('/g/both').map((m) => m.fields.data as string);
    // the daemon's subscription hears the node, and the node the daemon's publisher
    await primed(
      () => node.publish('/g/both', { data: 'ros probe' }),
      () => onBus().length > 0,
      'ROS to bus',
    );
    await primed(
      () => world.bus.publish('/g/both', STRING, codec.encode(STRING, { data: 'bus probe' })),
      () => atNode().includes('bus probe'),
      'bus to ROS',
    );
    const dropped = (await world.daemon.rosDetails()).echo_dropped as number;
    for (let i = 0; i < 5; i++) world.bus.publish('/g/both', STRING, codec.encode(STRING, { data: `bus ${i}` }));
    await node.publish('/g/both', { data: 'from ros' });
    await waitFor(() => atNode().includes('bus 4') && onBus().includes('from ros'), 'both ways', 60_000);
    // every message the daemon sent to ROS came back to its own subscription, and none of them reached the bus again
    await waitFor(
      async () => ((await world.daemon.rosDetails()).echo_dropped as number) >= dropped + 5,
      'its five messages heard back and dropped',
      60_000,
    );
    const counts = new Map<string, number>();
    for (const data of onBus()) counts.set(data, (counts.get(data) ?? 0) + 1);
    for (let i = 0; i < 5; i++) expect(counts.get(`bus ${i}`)).toBe(1);
    expect(counts.get('from ros')).toBe(1);
  }, 120_000);

  it('leaves the graph when stopped and joins it again when restarted, the rclpy node running throughout', async () => {
    const [before] = await daemonEndpoints('/g/in', 'subscriptions');
    world.bus.close();
    expect(await world.daemon.stop()).toBe(0);
    await waitFor(async () => !(await node.graph('/g/in')).nodes.includes(FULL), 'the daemon gone', 60_000);
    expect(ours((await node.graph('/g/in')).subscriptions)).toEqual([]);

    world = await startRclpyWorld('jazzy', DOMAIN, ROS);
    const [after] = await daemonEndpoints('/g/in', 'subscriptions');
    expect(after!.gid).not.toBe(before!.gid);
    expect(node.child.exitCode).toBeNull();
    // bridging again, both ways
    await world.bus.subscribe('/g/in');
    await primed(
      () => node.publish('/g/in', { data: 'after the restart' }),
      () => world.bus.messages('/g/in').length > 0,
      'ROS to the new daemon',
    );
    expect(codec.decode<{ data: string }>(STRING, world.bus.messages('/g/in')[0]!).data).toBe('after the restart');
    await node.subscribe('/g/out', STRING, { durability: 'transient_local', depth: 3 });
    world.bus.publish('/g/out', STRING, codec.encode(STRING, { data: 'from the new daemon' }));
    const got = await node.received('/g/out', 1);
    expect(got.map((m) => m.fields.data)).toContain('from the new daemon');
  }, 180_000);
});
