import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import type { BusMessage } from '../../daemon/bus/index.ts';
import type { TopicEndpointInfo } from '../../adapters/ros/index.ts';
import { typeClass } from '../../adapters/ros/index.ts';
import { openIndexedMcap } from '../helpers/mcap-file.ts';
import { UNLIMITED_VELOCITY } from '../helpers/motion.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRosDaemon } from './ros-daemon.ts';

const SCAN = 'sensor_msgs/msg/LaserScan';
const TWIST = 'geometry_msgs/msg/Twist';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

function collect(d: Awaited<ReturnType<typeof startRosDaemon>>, topic: string): BusMessage[] {
  const got: BusMessage[] = [];
  d.daemon.bus.subscribe({ name: 'test', topic, handler: (m) => void got.push(m) });
  return got;
}

const infoOf = (infos: object[], node: string) => (infos as TopicEndpointInfo[]).find((i) => i.node_name === node);

describe('the ROS 2 bridge, topics', () => {
  it('bridges a ROS topic onto the bus when a node starts publishing it, byte for byte, and drops it when its last publisher leaves', async () => {
    const d = await startRosDaemon({ topics: ['/scan'] });
    cleanups.push(d.stop);
    const got = collect(d, '/scan');
    const lidar = d.world.peer('lidar_driver', '/robot1');
    const publisher = lidar.createPublisher(typeClass(SCAN), '/scan', { qos: 'qos_profile_sensor_data' });
    await waitFor(() => d.details().topics_in.includes('/scan'), '/scan bridged');

    const bytes = Buffer.from(
      d.codec.encode(SCAN, { header: { frame_id: 'laser' }, angle_max: 3.14, ranges: [1, 2.5, 4] }),
    );
    publisher.publish(bytes);
    await waitFor(() => got.length === 1, 'the scan on the bus');
    expect(Buffer.from(got[0]!.data).equals(bytes)).toBe(true);
    expect(got[0]).toMatchObject({ topic: '/scan', type: SCAN, source: 'ros' });
    expect(d.daemon.status().topics.find((t) => t.topic === '/scan')).toMatchObject({
      publishers: 1,
      sources: ['ros'],
      qos: { reliability: 'best_effort', depth: 5 },
    });
    // The daemon's subscription shows from the graph poll after the one that saw the publisher.
    await waitFor(
      () => d.daemon.graph.endpoints({ name: '/scan', kind: 'subscriber' }).length === 1,
      "the daemon's subscriber in the graph",
    );
    const endpoints = d.daemon.graph.endpoints({ name: '/scan', source: 'ros' });
    expect(endpoints).toContainEqual(
      expect.objectContaining({
        kind: 'publisher',
        node: '/robot1/lidar_driver',
        type: SCAN,
        local: false,
        qos: { reliability: 'best_effort', durability: 'volatile', depth: 5 },
      }),
    );
    expect(endpoints).toContainEqual(
      expect.objectContaining({ kind: 'subscriber', node: '/auraison_edge', local: true }),
    );
    expect(d.daemon.graph.nodes().map((n) => n.name)).toEqual(['/auraison_edge', '/robot1/lidar_driver']);

    lidar.destroyPublisher(publisher);
    await waitFor(() => !d.details().topics_in.includes('/scan'), '/scan dropped');
    expect(d.daemon.status().topics.find((t) => t.topic === '/scan')).toMatchObject({ publishers: 0 });
    await waitFor(() => d.daemon.graph.endpoints({ name: '/scan' }).length === 0, '/scan gone from the graph');
    expect(d.health().state).toBe('running');
  });

  it('records what the recorder selects though ros.topics names nothing, its bytes as they came, and leaves the rest off the bus', async () => {
    const d = await startRosDaemon({ exclude: ['/odom_raw'] }, { recorder: { enabled: true, include: ['/odom*'] } });
    cleanups.push(d.stop);
    const base = d.world.peer('base');
    const odom = base.createPublisher(typeClass('nav_msgs/msg/Odometry'), '/odom');
    base.createPublisher(typeClass('nav_msgs/msg/Odometry'), '/odom_raw');
    base.createPublisher(typeClass('std_msgs/msg/String'), '/chatter');
    await waitFor(() => d.details().topics_in.includes('/odom'), '/odom bridged');
    await waitFor(() => d.daemon.graph.endpoints({ name: '/chatter' }).length === 1, '/chatter seen in the graph');
    expect(d.details().topics_in).toEqual(['/odom']);

    const sent = [1, 2].map((x) =>
      Buffer.from(d.codec.encode('nav_msgs/msg/Odometry', { pose: { pose: { position: { x } } } })),
    );
    for (const bytes of sent) odom.publish(bytes);
    await waitFor(() => d.daemon.status().topics.find((t) => t.topic === '/odom')?.count === 2, 'both on the bus');
    await d.daemon.close();
    const [bag] = readdirSync(join(d.dir, 'data', 'bags'));
    const bagDir = join(d.dir, 'data', 'bags', bag!);
    const metadata = parseMetadata(readFileSync(join(bagDir, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(metadata.topics.map((t) => [t.name, t.type, t.messageCount])).toEqual([
      ['/odom', 'nav_msgs/msg/Odometry', 2],
    ]);
    const recorded: Buffer[] = [];
    for (const file of metadata.files) {
      for await (const m of (await openIndexedMcap(join(bagDir, file.path))).readMessages())
        recorded.push(Buffer.from(m.data));
    }
    expect(recorded).toEqual(sent);
  });

  it('subscribes with the QoS config gives, and adapts to the publishers where it says auto', async () => {
    const d = await startRosDaemon({
      topics: ['/scan', '/map', '/tf_static'],
      qos: { reliability: 'reliable', durability: 'auto', depth: 7 },
      topic_qos: { '/map': { depth: 1 } },
    });
    cleanups.push(d.stop);
    const lidar = d.world.peer('lidar');
    const mapServer = d.world.peer('map_server');
    const rcl = d.world.module();
    const latched = new rcl.QoS(1, 1, 1, 1);
    const scan = lidar.createPublisher(typeClass(SCAN), '/scan', { qos: 'qos_profile_sensor_data' });
    const map = mapServer.createPublisher(typeClass('nav_msgs/msg/OccupancyGrid'), '/map', { qos: latched });
    const mapBytes = Buffer.from(
      d.codec.encode('nav_msgs/msg/OccupancyGrid', { info: { width: 2, height: 1 }, data: [0, 100] }),
    );
    map.publish(mapBytes); // before the daemon subscribes: a late joiner must still get it
    const maps = collect(d, '/map');
    const scans = collect(d, '/scan');
    await waitFor(() => d.details().topics_in.length === 2, '/scan and /map bridged');

    const subs = (topic: string) =>
      infoOf(lidar.getSubscriptionsInfoByTopic(topic, false), 'auraison_edge')!.qos_profile;
    expect(subs('/scan')).toMatchObject({ reliability: 1, durability: 2, depth: 7 });
    expect(subs('/map')).toMatchObject({ reliability: 1, durability: 1, depth: 1 });
    await waitFor(() => maps.length === 1, 'the latched map on the bus');
    expect(Buffer.from(maps[0]!.data).equals(mapBytes)).toBe(true);
    // A reliable subscription matches no best_effort publisher, in ROS 2 as in the double: nothing crosses.
    scan.publish(Buffer.from(d.codec.encode(SCAN, {})));
    map.publish(mapBytes);
    await waitFor(() => maps.length === 2, 'the second map');
    expect(scans).toEqual([]);
    // Which the daemon says, where ROS 2 drops it silently on the subscriber's side.
    const problems = () => (d.health().details?.problems ?? {}) as Record<string, string>;
    await waitFor(() => 'qos /scan' in problems(), 'the QoS problem reported');
    expect(problems()['qos /scan']).toMatch(/^ROS topic \/scan: \/lidar offers best_effort, .* requests reliable/);
    expect(d.health().state).toBe('degraded');
  });

  it('publishes selected bus topics to ROS byte for byte, and never echoes a message back the way it came', async () => {
    const d = await startRosDaemon(
      { topics: ['/cmd_vel'], publish: ['/cmd_vel'], qos: { depth: 3 } },
      UNLIMITED_VELOCITY,
    );
    cleanups.push(d.stop);
    const base = d.world.peer('base_driver');
    const heard: Buffer[] = [];
    base.createSubscription(typeClass(TWIST), '/cmd_vel', { isRaw: true }, (m: Buffer) => void heard.push(m));
    const onBus = collect(d, '/cmd_vel');
    const busPublisher = d.daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    await waitFor(() => d.details().topics_out.includes('/cmd_vel'), '/cmd_vel published to ROS');
    expect(infoOf(base.getPublishersInfoByTopic('/cmd_vel', false), 'auraison_edge')!.qos_profile).toMatchObject({
      reliability: 1,
      durability: 2,
      depth: 3,
    });

    const twist = (x: number) => Buffer.from(d.codec.encode(TWIST, { linear: { x } }));
    busPublisher.publish(twist(0.5));
    await waitFor(() => heard.length === 1, "the daemon's twist at the base");
    expect(heard[0]!.equals(twist(0.5))).toBe(true);

    const teleop = d.world.peer('teleop').createPublisher(typeClass(TWIST), '/cmd_vel');
    await waitFor(() => d.details().topics_in.includes('/cmd_vel'), '/cmd_vel bridged in once teleop publishes');
    teleop.publish(twist(-1));
    await waitFor(() => onBus.some((m) => m.source === 'ros'), "teleop's twist on the bus");
    busPublisher.publish(twist(0.25));
    await waitFor(() => d.details().echo_dropped === 1, "the daemon's own twist heard back and dropped");
    // The echo is known by its bytes (a raw message has no publisher GID): teleop sending the same bytes later is
    // teleop's own message, and reaches the bus.
    teleop.publish(twist(0.25));
    teleop.publish(twist(-2)); // a marker: once it is on the bus, everything before it was delivered
    await waitFor(() => onBus.filter((m) => m.source === 'ros').length === 3 && heard.length === 5, 'the marker');

    expect(onBus.map((m) => [m.source, d.codec.decode<{ linear: { x: number } }>(TWIST, m.data).linear.x])).toEqual([
      ['test', 0.5],
      ['ros', -1],
      ['test', 0.25],
      ['ros', 0.25],
      ['ros', -2],
    ]);
    expect(d.details().echo_dropped).toBe(1);
    // The base hears each twist once: teleop's are not sent again by the daemon.
    expect(heard.map((b) => d.codec.decode<{ linear: { x: number } }>(TWIST, b).linear.x)).toEqual([
      0.5, -1, 0.25, 0.25, -2,
    ]);
    expect(d.health().state).toBe('running');
  });
});
