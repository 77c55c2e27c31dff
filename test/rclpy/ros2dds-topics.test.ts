import { describe, expect, it } from 'vitest';
import { UNLIMITED_VELOCITY } from '../helpers/motion.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { expectSameSample, useRclpyBehindBridge } from './ros2dds-world.ts';

const DOMAIN = 40;
const STRING = 'std_msgs/msg/String';
const TWIST = 'geometry_msgs/msg/Twist';

/**
 * Topics both ways between the daemon (ros2dds mapping) and rclpy nodes on Fast DDS behind the real
 * zenoh-bridge-ros2dds: exact values, every message once, in order, and the bytes as rclpy serialized them.
 */
describe('topics between the daemon and rclpy nodes behind the real zenoh-bridge-ros2dds', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;
  const world = useRclpyBehindBridge(zn, DOMAIN);

  it("puts an rclpy talker's std_msgs/String on the bus: each once, in order, its bytes as Fast DDS sent them", async () => {
    const talker = await world.node('talker');
    await talker.publisher('/chatter', STRING);
    const { daemon, codec } = await world.daemon({ topics: ['/chatter'] }, cleanups);
    await waitFor(
      () => daemon.graph.endpoints({ name: '/chatter', kind: 'publisher' }).length > 0,
      "the rclpy talker's /chatter in the daemon's graph",
      30_000,
    );
    expect(daemon.graph.endpoints({ name: '/chatter', kind: 'publisher' })).toEqual([
      // zenoh-bridge-ros2dds announces no node names: the endpoint is the bridge's
      expect.objectContaining({ type: STRING, node: expect.stringMatching(/^\/zenoh_bridge_ros2dds_/) }),
    ]);
    const got: Buffer[] = [];
    daemon.bus.subscribe({ name: 'test', topic: '/chatter', handler: (m) => void got.push(Buffer.from(m.data)) });
    // The route opens once the bridge has matched both sides; what came before it is not the test's.
    await waitFor(
      async () => (await talker.publish('/chatter', { data: 'warm-up' }), got.length > 0),
      'a first message',
    );
    const from = got.length;
    const texts = Array.from({ length: 20 }, (_, i) => `${i} hello ünïcode ${'x'.repeat(i * 50)}`);
    const written: Buffer[] = [];
    for (const data of texts) written.push(await talker.publish('/chatter', { data }));
    // A warm-up still in flight when the count was taken lands before the twenty, never among them.
    const fresh = () => got.slice(from).filter((b) => codec.decode<{ data: string }>(STRING, b).data !== 'warm-up');
    await waitFor(() => fresh().length >= texts.length, '20 messages on the bus', 30_000);
    const heard = fresh();
    expect(heard.map((b) => codec.decode<{ data: string }>(STRING, b).data)).toEqual(texts);
    expect(heard).toHaveLength(written.length);
    heard.forEach((bytes, i) => expectSameSample(bytes, written[i]!));
  });

  it('publishes /cmd_vel that an rclpy subscriber takes exact, each once, in order, as the bytes the daemon sent', async () => {
    const base = await world.node('base');
    await base.subscribe('/cmd_vel', TWIST);
    const { daemon, codec } = await world.daemon({ publish: ['/cmd_vel'] }, cleanups, UNLIMITED_VELOCITY);
    const pub = daemon.bus.advertise('/cmd_vel', TWIST, { source: 'test' });
    const zero = codec.encode(TWIST, {});
    await waitFor(() => (pub.publish(zero), base.messages('/cmd_vel').length > 0), '/cmd_vel at rclpy', 30_000);
    const from = base.messages('/cmd_vel').length;
    const twists = Array.from({ length: 10 }, (_, i) => ({
      linear: { x: 0.1 * i, y: -0.5, z: 2 ** 60 },
      angular: { x: 0, y: Number.MIN_VALUE, z: 1.125 * i },
    }));
    const sent = twists.map((t) => codec.encode(TWIST, t));
    for (const bytes of sent) pub.publish(bytes);
    // A warm-up zero still in flight lands before the ten, never among them.
    const fresh = () =>
      base
        .messages('/cmd_vel')
        .slice(from)
        .filter((m) => !m.cdr.equals(Buffer.from(zero)));
    await waitFor(() => fresh().length >= twists.length, '10 Twists at rclpy', 30_000);
    const moving = fresh();
    expect(moving.map((m) => m.fields)).toEqual(twists);
    expect(moving.map((m) => m.cdr)).toEqual(sent.map((b) => Buffer.from(b)));
    pub.close();
  });
});
