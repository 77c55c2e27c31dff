import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry, MessageCodec } from '../../daemon/bus/index.ts';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2Peer } from '../peers/ros2.ts';
import { shares } from '../rclpy/rclpy-peer.ts';
import { TopicNode } from '../rclpy/topic-node.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { ZenohNetwork, type Peer } from '../zenoh/zenoh-network.ts';

const DOMAIN = 56;
const TWIST = 'geometry_msgs/msg/Twist';

type Vector = { x: number; y: number; z: number };
type Twist = { linear: Vector; angular: Vector };
type Relay = { from: string; to: string; relayed: number; clamped: number; held: number };

/**
 * The velocity frame on the `ros` side (docs/joined-graphs.md, "The frames apply"): an rmw_zenoh-keyed teleop's
 * /cmd_vel relayed into the daemon's ROS 2 graph, as an rclpy base on Fast DDS (PyPI's Jazzy wheels) hears it: within
 * motion.velocity as sent, over it clamped, zero while the operator's stop is latched, zero when it is no Twist.
 */
describe("an rmw_zenoh /cmd_vel relayed to an rclpy base on Fast DDS, held to the robot's velocity frame", () => {
  let daemon: Ros2Daemon;
  let net: ZenohNetwork;
  let base: TopicNode;
  let teleop: Peer;
  let codec: MessageCodec;

  beforeAll(async () => {
    const ros = ros2Peer('jazzy');
    const env = ros.env(DOMAIN);
    const definitions = new DefinitionsRegistry({ dirs: shares(env) });
    codec = new MessageCodec(definitions);
    net = await ZenohNetwork.create();
    await net.start();
    daemon = await Ros2Daemon.start(
      env,
      { node_name: 'edge_velocity_in', rclnodejs: ros.rclnodejs, bridge_recorded: false },
      {
        bus: { definitions: { dirs: shares(env) } },
        motion: { velocity: { topic: '/cmd_vel', max_linear_x: 0.5, max_angular_z: 1 } },
        // Header only: bytes that are no Twist reach the bus, and the ros side's frame (by default the Zenoh link
        // drops them first, counted as malformed).
        zenoh: { enabled: true, endpoint: net.wsUrl, mapping: 'rmw_zenoh', keepalive_ms: 200, validate_max_bytes: 0 },
        relays: { topics: [{ topic: '/cmd_vel', from: 'rmw_zenoh', to: 'ros' }] },
      },
    );
    base = await TopicNode.start(ros, env, 'rclpy_base');
    await base.subscribe('/cmd_vel', TWIST);
    const hash = typeDescriptionHash(definitions, TWIST)!;
    teleop = await net.peer({ node: 'teleop', publish: { topic: '/cmd_vel', type: TWIST, hash } });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([teleop?.close(), base?.stop()]);
    if (daemon) expect(await daemon.stop()).toBe(0);
    await net?.close();
  }, 60_000);

  const put = (bytes: Uint8Array) => teleop.send(`pub ${Buffer.from(bytes).toString('hex')}`);
  const send = (x: number, z = 0.25) => put(codec.encode(TWIST, { linear: { x }, angular: { z } }));
  const heard = () => base.messages('/cmd_vel').map((m) => m.fields as Twist);
  const still = (t: Twist) => [t.linear, t.angular].every((v) => v.x === 0 && v.y === 0 && v.z === 0);
  const relay = async () => ((await daemon.rosDetails()).relays as Record<string, Relay>)['/cmd_vel']!;
  /** Sends with `send` until `arrived` holds: the rclpy node matches the daemon's writer some time after it starts. */
  const until = async (what: string, sent: () => void, arrived: () => boolean) =>
    waitFor(() => (sent(), arrived()), what, 60_000);

  it('passes a command within the limits as sent, and holds one over them to motion.velocity', async () => {
    await until(
      '/cmd_vel at the rclpy base',
      () => send(0.2),
      () => heard().length > 0,
    );
    expect(heard()[0]).toEqual({ linear: { x: 0.2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.25 } });
    await until(
      'a clamped /cmd_vel at the base',
      () => send(3, -4),
      () => heard().some((t) => t.linear.x === 0.5),
    );
    const clamped = { linear: { x: 0.5, y: 0, z: 0 }, angular: { x: 0, y: 0, z: -1 } };
    expect(heard().find((t) => t.linear.x === 0.5)).toEqual(clamped);
    expect(heard().some((t) => t.linear.x > 0.5 || Math.abs(t.angular.z) > 1)).toBe(false);
    expect(await relay()).toMatchObject({ from: 'rmw_zenoh', to: 'ros' });
    expect((await relay()).clamped).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("sends zero while the operator's stop is latched, and moves again after the release", async () => {
    const stopped = await daemon.cli(['stop', '--reason', 'relayed velocity test', '--json']);
    expect(stopped.code, stopped.stderr).toBe(0);
    const heldBefore = (await relay()).held;
    const before = heard().length;
    // Commands relayed before the latch may still be on their way: none of those was 0.2 (the last were clamped).
    await until(
      'five zero /cmd_vel at the base while latched',
      () => send(0.2),
      () => heard().slice(before).filter(still).length >= 5,
    );
    expect(
      heard()
        .slice(before)
        .some((t) => t.linear.x === 0.2),
      JSON.stringify(heard().slice(before)),
    ).toBe(false);
    expect((await relay()).held).toBeGreaterThanOrEqual(heldBefore + 5);
    expect((await daemon.cli(['stop', '--release'])).code).toBe(0);
    const released = heard().length;
    await until(
      'motion again after the release',
      () => send(0.2),
      () =>
        heard()
          .slice(released)
          .some((t) => t.linear.x === 0.2),
    );
  }, 120_000);

  it('sends zero for a /cmd_vel that is no Twist (bytes the frame cannot read), never the bytes', async () => {
    // A CDR header and three bytes: shorter than a Twist's six float64s.
    const garbage = Uint8Array.from([0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe]);
    const heldBefore = (await relay()).held;
    const before = heard().length;
    // Commands of the release may still be on their way; a zero comes of the garbage alone.
    await until(
      'the garbage relayed as zero at the base',
      () => put(garbage),
      () => heard().slice(before).some(still),
    );
    expect(base.messages('/cmd_vel').some((m) => m.cdr.equals(Buffer.from(garbage)))).toBe(false);
    expect((await relay()).held).toBeGreaterThan(heldBefore);
  }, 120_000);
});
