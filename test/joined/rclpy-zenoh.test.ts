import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry, MessageCodec } from '../../daemon/bus/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { RclpyPeer, shares } from '../rclpy/rclpy-peer.ts';
import { primed } from '../rclpy/rclpy-daemon.ts';
import { TopicNode } from '../rclpy/topic-node.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { ZenohNetwork, type Peer } from '../zenoh/zenoh-network.ts';
import { samplesOf } from './joined-graphs.ts';

const DOMAIN = 54;
const STRING = 'std_msgs/msg/String';
const BASIC = 'test_msgs/srv/BasicTypes';
const INT64 = 9_007_199_254_740_993n; // 2^53 + 1: a double would make it ...992

/**
 * One daemon joining a ROS 2 graph through rclnodejs (rclpy nodes on Fast DDS, PyPI's Jazzy wheels) and an rmw_zenoh
 * graph (eclipse-zenoh peers keyed as rmw_zenoh, behind a router and the remote-api bridge): a topic each way, exact
 * and once, and an rmw_zenoh client served by an rclpy server, int64 exact.
 */
describe('one daemon relaying between rclpy nodes on Fast DDS and an rmw_zenoh graph', () => {
  let ros: Ros2Peer;
  let env: NodeJS.ProcessEnv;
  let net: ZenohNetwork;
  let daemon: Ros2Daemon;
  let codec: MessageCodec;
  let definitions: DefinitionsRegistry;
  let node: TopicNode;
  const peers: Peer[] = [];
  const rclpy: RclpyPeer[] = [];

  beforeAll(async () => {
    ros = ros2Peer('jazzy');
    env = ros.env(DOMAIN);
    definitions = new DefinitionsRegistry({ dirs: shares(env) });
    codec = new MessageCodec(definitions);
    net = await ZenohNetwork.create();
    await net.start();
    daemon = await Ros2Daemon.start(
      env,
      { node_name: 'edge_joined', rclnodejs: ros.rclnodejs, bridge_recorded: false },
      {
        bus: { definitions: { dirs: shares(env) } },
        zenoh: { enabled: true, endpoint: net.wsUrl, mapping: 'rmw_zenoh', keepalive_ms: 200 },
        relays: {
          topics: [
            { topic: '/chatter', from: 'ros', to: 'rmw_zenoh' },
            { topic: '/status_text', from: 'rmw_zenoh', to: 'ros' },
          ],
          services: [{ service: '/basic', type: BASIC, from: 'rmw_zenoh', to: 'ros' }],
        },
      },
    );
    node = await TopicNode.start(ros, env, 'rclpy_joined');
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...peers.map((p) => p.close()), ...rclpy.map((p) => p.close()), node?.stop()]);
    if (daemon) expect(await daemon.stop()).toBe(0);
    await net?.close();
  }, 60_000);

  const zenohPeer = async (spec: Record<string, unknown>) => {
    const peer = await net.peer(spec);
    peers.push(peer);
    return peer;
  };
  const text = (hex: unknown) => codec.decode<{ data: string }>(STRING, Buffer.from(String(hex), 'hex')).data;

  it("relays an rclpy talker's /chatter to an rmw_zenoh listener: each string exact, in order, once", async () => {
    const hash = typeDescriptionHash(definitions, STRING)!;
    const listener = await zenohPeer({ node: 'listener', subscribe: { topic: '/chatter', type: STRING, hash } });
    await node.publisher('/chatter', STRING);
    await primed(
      () => node.publish('/chatter', { data: 'probe' }),
      () => samplesOf(listener).length > 0,
      '/chatter from rclpy to rmw_zenoh',
    );
    const strings = ['first', 'zweite Nachricht: grüße', '第三', ''];
    for (const data of strings) await node.publish('/chatter', { data });
    await node.publish('/chatter', { data: 'last probe' });
    await waitFor(() => samplesOf(listener).some((e) => text(e.payload) === 'last probe'), 'the last probe relayed');
    // One more behind it on the same path: a string sent twice would have come before it.
    await node.publish('/chatter', { data: 'final probe' });
    await waitFor(() => samplesOf(listener).some((e) => text(e.payload) === 'final probe'), 'the final probe relayed');
    const heard = samplesOf(listener)
      .map((e) => text(e.payload))
      .filter((v) => !v.includes('probe'));
    expect(heard).toEqual(strings);
    expect(String(samplesOf(listener)[0]!.key)).toBe(`0/chatter/std_msgs::msg::dds_::String_/${hash}`);
  }, 180_000);

  it('relays an rmw_zenoh /status_text to an rclpy subscriber, exact and once', async () => {
    const hash = typeDescriptionHash(definitions, STRING)!;
    await node.subscribe('/status_text', STRING);
    const writer = await zenohPeer({ node: 'writer', publish: { topic: '/status_text', type: STRING, hash } });
    const put = (data: string) => writer.send(`pub ${Buffer.from(codec.encode(STRING, { data })).toString('hex')}`);
    await primed(
      () => put('probe'),
      () => node.messages('/status_text').length > 0,
      '/status_text to rclpy',
    );
    const strings = ['docked', 'undocking ✓', 'moving'];
    for (const data of strings) put(data);
    put('last probe');
    await waitFor(
      () => node.messages('/status_text').some((m) => m.fields.data === 'last probe'),
      'the last probe at the rclpy node',
      60_000,
    );
    // One more behind it on the same path: a string sent twice would have come before it.
    put('final probe');
    await waitFor(
      () => node.messages('/status_text').some((m) => m.fields.data === 'final probe'),
      'the final probe at the rclpy node',
      60_000,
    );
    const got = node.messages('/status_text').map((m) => String(m.fields.data));
    expect(got.filter((v) => !v.includes('probe'))).toEqual(strings);
  }, 180_000);

  it('answers an rmw_zenoh client from an rclpy server: run once, int64 exact', async () => {
    const server = await RclpyPeer.start(ros.python, env, { node: 'basic', role: 'basic_server', service: '/basic' });
    rclpy.push(server);
    await waitFor(
      async () => (((await daemon.rosDetails()).services_called as string[] | undefined) ?? []).includes('/basic'),
      '/basic on the bus',
      60_000,
    );
    const hash = typeDescriptionHash(definitions, BASIC)!;
    const request = codec.encode(`${BASIC}_Request`, {
      int64_value: INT64,
      uint64_value: 2n ** 64n - 2n,
      string_value: 'x',
    });
    const caller = await zenohPeer({
      node: 'caller',
      call: {
        key: `0/basic/test_msgs::srv::dds_::BasicTypes_/${hash}`,
        request: Buffer.from(request).toString('hex'),
        seq: 3,
      },
    });
    const answer = await caller.next((e) => e.event === 'replies', 'the reply', 60_000);
    const replies = answer.replies as { payload: string; attachment: { seq: number; gid: string } }[];
    expect(replies).toHaveLength(1);
    expect(codec.decode(`${BASIC}_Response`, Buffer.from(replies[0]!.payload, 'hex'))).toMatchObject({
      int64_value: INT64 + 1n,
      uint64_value: 2n ** 64n - 1n,
    });
    expect(replies[0]!.attachment).toMatchObject({ seq: 3, gid: answer.gid });
    expect(server.all('request')).toEqual([{ event: 'request', int64: String(INT64), uint64: String(2n ** 64n - 2n) }]);
  }, 180_000);
});
