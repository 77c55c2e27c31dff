import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ros2ClientNode } from '../peers/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { fileTree } from '../helpers/file-tree.ts';
import { jsonQuery } from '../helpers/json-query.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { useDdsWorld } from './dds-world.ts';

const MSGS = resolve('test/fixtures/msgs/common_interfaces');
const STRING = 'std_msgs/msg/String';
const ADD_TWO_INTS = 'example_interfaces/srv/AddTwoInts';

/**
 * The daemon (ros2dds mapping) against ROS 2 nodes made with another ROS 2 client library than rclcpp, rclpy or
 * ours: Atostek's crates.io `ros2-client` over RustDDS (test/peers/rust/src/bin/ros2-client-node.rs), behind the
 * real zenoh-bridge-ros2dds and its Cyclone DDS, every participant on loopback.
 */
describe('the daemon and ros2-client nodes (RustDDS) behind the real zenoh-bridge-ros2dds', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useDdsWorld(zn);
  const files: (() => void)[] = [];
  cleanups.push(async () => files.forEach((cleanup) => cleanup()));
  // example_interfaces is no fixture package: its AddTwoInts as rosidl defines it.
  const interfaces = fileTree({ 'example_interfaces/srv/AddTwoInts.srv': 'int64 a\nint64 b\n---\nint64 sum\n' }, files);

  async function daemonWith(zenoh: Record<string, unknown>) {
    const started = await startDaemon({
      bus: { definitions: { dirs: [MSGS, interfaces] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, mapping: 'ros2dds', namespace: '/bot1', ...zenoh },
    });
    cleanups.push(started.stop);
    return started;
  }

  const rustNode = async (spec: Record<string, unknown>) => {
    const node = await world.dds.node(spec, [ros2ClientNode()]);
    cleanups.push(() => node.close());
    return node;
  };

  it("puts a ros2-client talker's std_msgs/String on the bus, and its listener hears the daemon's, exact", async () => {
    await rustNode({
      node: 'rust_talker',
      publish: { topic: '/chatter', data: ['hello ünïcode 1', 'two'], rate_hz: 10 },
    });
    const listener = await rustNode({ node: 'rust_listener', subscribe: { topic: '/heard' } });
    const { daemon, codec } = await daemonWith({ topics: ['/chatter'], publish: ['/heard'] });
    const got: string[] = [];
    await waitFor(() => daemon.graph.endpoints({ name: '/chatter', kind: 'publisher' }).length > 0, 'the talker');
    daemon.bus.subscribe({
      name: 'test',
      topic: '/chatter',
      handler: (m) => void got.push(codec.decode<{ data: string }>(STRING, m.data).data),
    });
    await waitFor(
      () => got.includes('hello ünïcode 1') && got.includes('two'),
      "the talker's strings on the bus",
      30_000,
    );
    expect(new Set(got)).toEqual(new Set(['hello ünïcode 1', 'two']));

    const heard = daemon.bus.advertise('/heard', STRING, { source: 'test' });
    const text = 'from the daemon, ñ 2^53+1 = 9007199254740993';
    await waitFor(
      () => (heard.publish(codec.encode(STRING, { data: text })), listener.events.some((e) => e.event === 'sample')),
      '/heard at the ros2-client listener',
      30_000,
    );
    expect(listener.events.find((e) => e.event === 'sample')).toEqual({ event: 'sample', data: text });
    heard.close();
  });

  it('calls a ros2-client AddTwoInts server and serves one to a ros2-client client, int64s past 2^53 exact', async () => {
    const server = await rustNode({ node: 'rust_adder', serve: { service: '/add_two_ints' } });
    const { daemon } = await daemonWith({
      services: { call: ['/add_two_ints'], serve: [{ query: 'test/sum', service: '/sum', type: ADD_TWO_INTS }] },
    });
    await waitFor(() => daemon.bus.queryables().includes('/add_two_ints'), 'the ros2-client server on the bus', 30_000);
    // A call made while the daemon's link to the bridge is down fails at once, by design; on a loaded machine the
    // link can drop a keepalive and come back, so the call is made again then, as a caller would.
    const reply = await waitForValue(
      () =>
        daemon.bus.query('/add_two_ints', jsonQuery({ a: '9007199254740993', b: '-2' })).catch((error: unknown) => {
          if (/Zenoh link to \S+ is down/.test(String(error))) return undefined;
          throw error;
        }),
      'a reply from the ros2-client server',
      30_000,
    );
    expect(JSON.parse(new TextDecoder().decode(reply.payload))).toEqual({ sum: '9007199254740991' });
    // The server says so once its send returned, which may be after the reply reached the daemon.
    await server.next((e) => e.event === 'served', 'the request at the ros2-client server');
    // Once, or twice if the link dropped after the request went out: never another request.
    const served = server.events.filter((e) => e.event === 'served');
    expect(served.length).toBeGreaterThanOrEqual(1);
    for (const e of served) expect(e).toEqual({ event: 'served', a: '9007199254740993', b: '-2' });

    const asked: unknown[] = [];
    daemon.bus.serve('test/sum', async (request) => {
      const { a, b } = JSON.parse(new TextDecoder().decode(request.payload)) as { a: string; b: string };
      asked.push({ a, b });
      return jsonQuery({ sum: (BigInt(a) + BigInt(b)).toString() });
    });
    // ros2-client's wait_for_service says when its side has matched the bridge's endpoints; the bridge's Cyclone DDS
    // matches the request writer later, and a volatile request written before that is lost: the node waits 3 s.
    const client = await rustNode({
      node: 'rust_client',
      call: { service: '/sum', a: '9007199254740993', b: '7', settle_ms: 3000 },
    });
    const answer = await client.next((e) => e.event === 'reply' || e.event === 'error', 'the reply', 30_000);
    expect(answer).toEqual({ event: 'reply', sum: '9007199254741000' });
    expect(asked).toEqual([{ a: '9007199254740993', b: '7' }]);
  });
});
