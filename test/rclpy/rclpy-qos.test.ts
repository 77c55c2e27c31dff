import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { codec, DISTROS, primed, startRclpyWorld, type RclpyWorld } from './rclpy-daemon.ts';
import { TopicNode, type GraphEndpoint } from './topic-node.ts';

/**
 * QoS between the daemon and an rclpy node on Fast DDS, once per distribution: what the daemon's subscription and
 * publisher request and offer as rclpy's graph API sees them, late joiners of transient_local topics both ways, and a
 * pair ROS 2 refuses to match reported as the daemon reports it (a problem for a publisher it cannot hear, a warning
 * for a subscriber its publisher cannot serve).
 */

const DOMAIN = 21;
const STRING = 'std_msgs/msg/String';

describe.each(DISTROS)('QoS between the daemon and an rclpy node on ROS 2 $name', ({ name }) => {
  const self = `edge_${name}`;
  const rclpyName = `rclpy_qos_${name}`;
  let world: RclpyWorld;
  let node: TopicNode;

  beforeAll(async () => {
    world = await startRclpyWorld(name, DOMAIN, {
      node_name: self,
      topics: ['/q/**'],
      publish: ['/out/**'],
      topic_qos: {
        '/q/strict': { reliability: 'reliable' },
        '/out/latched': { durability: 'transient_local', depth: 5 },
        '/out/best_effort': { reliability: 'best_effort' },
      },
    });
    node = await TopicNode.start(world.peer, world.env, rclpyName);
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
  });

  /** The daemon's endpoint of `kind` on `topic` as rclpy's graph API gives it, once there. */
  const daemonEndpoint = (topic: string, kind: 'publishers' | 'subscriptions') =>
    waitForValue(
      async () => (await node.graph(topic))[kind].find((e: GraphEndpoint) => e.node === self),
      `the daemon's ${kind} on ${topic} in rclpy's graph`,
      60_000,
    );
  const strings = (topic: string) =>
    world.bus.messages(topic).map((b) => codec.decode<{ data: string }>(STRING, b).data);
  const problems = async () => ((await world.daemon.rosDetails()).problems ?? {}) as Record<string, string>;

  it('subscribes reliable to a reliable publisher and hears all of a burst, in order', async () => {
    await node.publisher('/q/reliable', STRING, { reliability: 'reliable', depth: 100 });
    expect((await daemonEndpoint('/q/reliable', 'subscriptions')).qos).toMatchObject({
      reliability: 'reliable',
      durability: 'volatile',
    });
    await world.bus.subscribe('/q/reliable');
    await primed(
      () => node.publish('/q/reliable', { data: 'probe' }),
      () => strings('/q/reliable').length > 0,
      'probe',
    );
    const burst = Array.from({ length: 50 }, (_, i) => `m${i}`);
    for (const data of burst) await node.publish('/q/reliable', { data });
    await waitFor(() => strings('/q/reliable').includes('m49'), 'the burst on the bus', 60_000);
    expect(strings('/q/reliable').filter((s) => s !== 'probe')).toEqual(burst);
  }, 120_000);

  it('subscribes best_effort to a best_effort publisher (a reliable request would match none)', async () => {
    await node.publisher('/q/best_effort', STRING, { reliability: 'best_effort' });
    expect((await daemonEndpoint('/q/best_effort', 'subscriptions')).qos.reliability).toBe('best_effort');
    await world.bus.subscribe('/q/best_effort');
    await primed(
      () => node.publish('/q/best_effort', { data: 'lossy but heard' }),
      () => strings('/q/best_effort').length > 0,
      'best_effort',
    );
    expect(new Set(strings('/q/best_effort'))).toEqual(new Set(['lossy but heard']));
    expect((await problems())['qos /q/best_effort']).toBeUndefined();
  }, 120_000);

  it("is handed a transient_local publisher's cached messages when it joins late", async () => {
    // written to the node at once, so it publishes them straight after making its publisher: awaited one by one,
    // the daemon (polling the graph every 200 ms) could subscribe between them and hear the rest live
    // The daemon held (SIGSTOP) while they are published: it cannot subscribe before the last one, however loaded the
    // machine, so what reaches the bus came from the publisher's cache.
    const daemonChild = world.daemon.process.child;
    daemonChild.kill('SIGSTOP');
    try {
      await Promise.all([
        node.publisher('/q/latched', STRING, { reliability: 'reliable', durability: 'transient_local', depth: 5 }),
        ...['map v1', 'map v2', 'map v3'].map((data) => node.publish('/q/latched', { data })),
      ]);
      expect((await node.graph('/q/latched')).subscriptions).toEqual([]);
    } finally {
      daemonChild.kill('SIGCONT');
    }
    expect((await daemonEndpoint('/q/latched', 'subscriptions')).qos.durability).toBe('transient_local');
    const count = async () =>
      ((await world.daemon.status()).topics as { topic: string; count: number }[]).find((t) => t.topic === '/q/latched')
        ?.count ?? 0;
    await waitFor(async () => (await count()) >= 3, 'the three cached messages on the bus', 60_000);
    expect(await count()).toBe(3);
    // the bus latches the last of them (one, not ROS's depth) for its own late subscriber, this client: subscribed
    // before they all came, it would hear some live, so it subscribes once all three are on the bus
    await world.bus.subscribe('/q/latched');
    await waitFor(() => strings('/q/latched').length > 0, 'the latched message on the bus', 60_000);
    expect(strings('/q/latched')).toEqual(['map v3']);
  }, 120_000);

  it('offers transient_local (ros.topic_qos) and hands a late rclpy subscription what it published', async () => {
    for (const data of ['one', 'two', 'three'])
      world.bus.publish('/out/latched', STRING, codec.encode(STRING, { data }));
    expect((await daemonEndpoint('/out/latched', 'publishers')).qos.durability).toBe('transient_local');
    await waitFor(
      async () => ((await world.daemon.rosDetails()).messages_out as number) >= 3,
      'three messages sent to ROS',
    );
    await node.subscribe('/out/latched', STRING, { reliability: 'reliable', durability: 'transient_local', depth: 5 });
    const got = await node.received('/out/latched', 3);
    expect(got.map((m) => m.fields.data)).toEqual(['one', 'two', 'three']);
  }, 120_000);

  it('reports a publisher it cannot hear (best_effort where it requests reliable) until that publisher leaves', async () => {
    await node.publisher('/q/strict', STRING, { reliability: 'best_effort' });
    // Named by its node once discovery has the node's name (before it, the graph has only rmw's placeholder).
    const problem = await waitForValue(
      async () => {
        const said = (await problems())['qos /q/strict'];
        return said?.includes(`/${rclpyName} `) ? said : undefined;
      },
      'the qos problem naming the node',
      60_000,
    );
    expect(problem).toBe(
      `ROS topic /q/strict: /${rclpyName} offers best_effort, and the daemon's subscription requests reliable ` +
        'volatile: ROS 2 delivers none of those messages (incompatible QoS: reliability). Set reliability: ' +
        'best_effort in ros.topic_qos["/q/strict"] (ros.qos auto adapts only to the publishers there when the topic ' +
        'is first bridged)',
    );
    expect((await world.daemon.status()).components.ros?.state).toBe('degraded');
    // rmw says the same on the rclpy node's side
    await waitFor(
      () => node.events.some((e) => e.event === 'incompatible_qos' && e.topic === '/q/strict'),
      "rclpy's incompatible QoS event",
      60_000,
    );
    expect(node.events.find((e) => e.event === 'incompatible_qos' && e.topic === '/q/strict')).toMatchObject({
      side: 'publisher',
      policy: 'reliability',
    });
    await node.destroy('/q/strict');
    await waitFor(async () => (await problems())['qos /q/strict'] === undefined, 'the problem cleared', 60_000);
  }, 120_000);

  it("warns once of an rclpy subscription its best_effort publisher cannot serve (the node's choice)", async () => {
    world.bus.publish('/out/best_effort', STRING, codec.encode(STRING, { data: 'x' }));
    await daemonEndpoint('/out/best_effort', 'publishers');
    await node.subscribe('/out/best_effort', STRING, { reliability: 'reliable' });
    const warning = `ros: /${rclpyName} subscribes to /out/best_effort requesting reliable`;
    const logged = await world.daemon.process.waitForLog(
      (l) => typeof l.msg === 'string' && l.msg.startsWith(warning),
      'the warning',
      60_000,
    );
    expect(logged.msg).toBe(
      `${warning}, which the daemon's publisher (best_effort) cannot match: ROS 2 sends it none of its messages ` +
        '(incompatible QoS: reliability). Set reliability: reliable in ros.topic_qos["/out/best_effort"] to offer ' +
        "it, or change that node's QoS",
    );
    await waitFor(
      () => node.events.some((e) => e.event === 'incompatible_qos' && e.topic === '/out/best_effort'),
      "rclpy's incompatible QoS event",
      60_000,
    );
    expect(node.events.find((e) => e.event === 'incompatible_qos' && e.topic === '/out/best_effort')).toMatchObject({
      side: 'subscription',
      policy: 'reliability',
    });
    // more graph polls go by, and it is not said again
    const polls = (await world.daemon.rosDetails()).graph_polls as number;
    await waitFor(async () => ((await world.daemon.rosDetails()).graph_polls as number) > polls + 5, 'more polls');
    expect(world.daemon.process.logs.filter((l) => String(l.msg).startsWith(warning))).toHaveLength(1);
    // a problem it is not: the daemon is not degraded by another node's choice
    expect((await problems())['qos /out/best_effort']).toBeUndefined();
  }, 120_000);
});
