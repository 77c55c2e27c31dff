import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { SO101_JOINTS } from '../peers/arm.ts';
import { codec, primed } from '../rclpy/rclpy-daemon.ts';
import { TopicNode } from '../rclpy/topic-node.ts';
import {
  ARRAY,
  drift,
  FORWARD_TOPIC,
  GRIPPER_TOPIC,
  startArmWorld,
  TRAJECTORY,
  TRAJECTORY_TOPIC,
  type ArmWorld,
} from './so101-world.ts';

/**
 * The motion gate tried as an attacker would, on the simulated SO-101 (its own qpos, from the node's trace): what the
 * robot measures and what it is come only from the robot, and the operator's stop holds every arm command topic where
 * the arm is, whoever sent the motion before it. Each case failed on the daemon before daemon/motion.
 */

// Below test/gazebo-live's 10, beside test/arm/latched-doors-so101's 9: no other test file uses it.
const DOMAIN = 8;
const REST = [0.3, -0.4, 0.5, 0.6, -0.2, 0.4];
const ARM_JOINTS = SO101_JOINTS.slice(0, 5);
const JOINT_STATE = 'sensor_msgs/msg/JointState';
/** The most a held joint may move after the hold reached it (rad): the servos settling. */
const HELD = 0.02;

const cleanups = cleanupStack(afterAll);
let arm: ArmWorld;

const trajectory = (names: string[], positions: number[], seconds: number) => ({
  header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
  joint_names: names,
  points: [
    {
      positions,
      velocities: [],
      accelerations: [],
      effort: [],
      time_from_start: { sec: Math.floor(seconds), nanosec: Math.round((seconds % 1) * 1e9) },
    },
  ],
});
const array = (data: number[]) => ({ layout: { dim: [], data_offset: 0 }, data });

/** Waits until the simulator has run `seconds` of wall time past the trace's line `from`, and gives its ticks. */
async function ticksFor(from: number, seconds: number) {
  const start = () => arm.ticks(from)[0]?.t;
  await waitFor(() => {
    const first = start();
    return first !== undefined && arm.ticks(from).at(-1)!.t > first + seconds;
  }, `${seconds} s of the simulator`);
  return arm.ticks(from);
}

beforeAll(async () => {
  arm = await startArmWorld({
    domain: DOMAIN,
    ros: {
      node_name: 'edge_arm_attacks',
      topics: ['/joint_states', '/robot_description'],
      publish: [TRAJECTORY_TOPIC, FORWARD_TOPIC, GRIPPER_TOPIC],
    },
    extra: {
      sim: { enabled: false },
      // Clients may publish the robot's own topics as far as Foxglove's allowlist goes: the motion gate refuses them.
      foxglove: {
        port: 0,
        max_message_bytes: 4 << 20,
        client_publish: {
          enabled: true,
          topics: [TRAJECTORY_TOPIC, FORWARD_TOPIC, GRIPPER_TOPIC, '/joint_states', '/robot_description'],
        },
      },
      motion: {
        joints: {
          robot_description: '/robot_description',
          max_step: 2,
          topics: { [FORWARD_TOPIC]: ARM_JOINTS, [GRIPPER_TOPIC]: ['gripper'] },
          trajectory_topics: { [TRAJECTORY_TOPIC]: SO101_JOINTS },
        },
      },
      mcp: { tools: ['publish'] },
    },
    node: { initial: REST, cameraRate: 0 },
  });
  cleanups.push(() => arm.close());
  for (const [topic, type, probe] of [
    [TRAJECTORY_TOPIC, TRAJECTORY, trajectory(SO101_JOINTS, REST, 1)],
    [FORWARD_TOPIC, ARRAY, array(REST.slice(0, 5))],
    [GRIPPER_TOPIC, ARRAY, array([REST[5]!])],
  ] as const) {
    const from = arm.mark();
    await primed(
      () => arm.world.bus.publish(topic, type, codec.encode(type, probe)),
      () => arm.commands(from).some((c) => c.topic === topic),
      `${topic} from the daemon to the simulated arm`,
    );
  }
}, 240_000);

describe('only the robot says where it is', () => {
  it('refuses /joint_states and /robot_description from topic pub and from an intent', async () => {
    const { daemon } = arm.world;
    const pub = await daemon.cli([
      'topic',
      'pub',
      '/joint_states',
      JOINT_STATE,
      `{name: [${SO101_JOINTS}], position: [2.5, 1.5, 1.7, 0, 0, 0]}`,
      '--once',
    ]);
    expect(pub.code, pub.stdout).toBe(1);
    expect(pub.stderr).toMatch(/may not publish on \/joint_states: .*only the robot publishes/);
    const wide = `<robot name="so101">${SO101_JOINTS.map((j) => `<joint name="${j}" type="revolute"><limit lower="-50" upper="50" velocity="1000000"/></joint>`).join('')}</robot>`;
    const params = JSON.stringify({ topic: '/robot_description', type: 'std_msgs/msg/String', fields: { data: wide } });
    const intent = await daemon.cli(['intent', 'publish', '--params', params, '--wait', '--json']);
    expect(intent.code, intent.stdout).toBe(1);
    expect(intent.stdout).toMatch(/may not publish on \/robot_description/);
    // The limits are the robot's own: a command past its URDF is still held to it.
    const status = await daemon.cli(['status']);
    expect(status.stdout).toMatch(/joint limits: \/robot_description, set/);
  }, 120_000);

  it('with another node publishing /joint_states, the stop holds no arm on it, says so, and the arm stays', async () => {
    const { daemon } = arm.world;
    const spoofer = await TopicNode.start(arm.peer.ros, arm.env, 'spoofer');
    cleanups.push(() => spoofer.stop());
    await spoofer.publisher('/joint_states', JOINT_STATE);
    const spoofed = { name: SO101_JOINTS, position: [2.5, 1.5, 1.7, 1.2, 1.0, 1.5] };
    // Until the daemon sees two publishers of the joint states (its graph read, DDS discovery), the spoof goes on.
    const ambiguous = async () =>
      ((await daemon.status()) as { robot_inputs?: { state: { ambiguous: string | null } } }).robot_inputs?.state
        .ambiguous;
    await waitFor(
      async () => {
        await spoofer.publish('/joint_states', spoofed);
        return typeof (await ambiguous()) === 'string';
      },
      'the measurement ambiguous',
      120_000,
    ).catch(async (error: unknown) => {
      // What the daemon's graph held of the topic, and its ROS bridge's polls: discovery's part or the daemon's.
      const status = (await daemon.status()) as {
        graph?: { endpoints: { name: string; kind: string; node: string; local?: boolean }[] };
        components?: Record<string, unknown>;
      };
      const seen = status.graph?.endpoints.filter((e) => e.name === '/joint_states');
      const ros = JSON.stringify(status.components?.ros);
      throw new Error(`${String(error)}; the graph's /joint_states: ${JSON.stringify(seen)}; ros: ${ros}`, {
        cause: error,
      });
    });
    expect((await daemon.cli(['status'])).stdout).toContain('NO MEASUREMENT');
    const here = arm.ticks().at(-1)!.qpos;
    const from = arm.mark();
    const stop = await daemon.cli(['stop', '--reason', 'spoofed states']);
    for (let i = 0; i < 20; i++) await spoofer.publish('/joint_states', spoofed);
    expect(stop.code, stop.stdout).toBe(1);
    expect(stop.stdout).toMatch(/NOT HELD: \/arm_controller\/joint_trajectory: 2 nodes publish \/joint_states/);
    const ticks = await ticksFor(from, 2);
    console.log(JSON.stringify({ spoofed_stop_drift_rad: drift(ticks, here) }));
    expect(drift(ticks, here)).toBeLessThan(HELD);
    for (const c of arm.commands(from)) expect(c.points ?? [], JSON.stringify(c)).toEqual([]);
    await spoofer.stop();
    await waitFor(async () => (await ambiguous()) === null, 'one publisher again', 60_000);
    expect((await daemon.cli(['stop', '--release'])).code).toBe(0);
  }, 180_000);
});

describe('the stop holds every arm command topic, every joint', () => {
  /**
   * Sends `command(target)` for joint `joint` and waits for the arm to move, far from `target` still. The simulated arm
   * runs in real time and a loaded test may see it only once it is there, where a stop holds nothing that moves: then
   * `command` returns it to where it began, and tries again (three tries).
   */
  const moving = async (command: (position: number) => unknown, joint: number, target: number) => {
    for (let tries = 1; ; tries++) {
      const from = arm.mark();
      const start = arm.ticks().at(-1)!.qpos[joint]!;
      await command(target);
      await waitFor(() => arm.ticks(from).some((t) => Math.abs(t.qpos[joint]! - start) > 0.1), 'the arm moving');
      if (Math.abs(arm.ticks().at(-1)!.qpos[joint]! - target) > 0.3) return;
      expect(tries, `the arm was at ${target} when the test saw it move, ${tries} times`).toBeLessThan(3);
      await command(start);
      await waitFor(() => Math.abs(arm.ticks().at(-1)!.qpos[joint]! - start) < 0.05, 'the arm back where it began');
    }
  };
  const holds = async (stopWith: () => Promise<{ code: number | null; stdout: string }>) => {
    const stop = await stopWith();
    expect(stop.code, stop.stdout).toBe(0);
    // From the hold on, the arm stays where it was when the hold reached it.
    const from = arm.mark();
    const ticks = await ticksFor(from, 2);
    const settled = ticks.filter((t) => t.t > ticks[0]!.t + 0.5);
    const moved = drift(settled, settled[0]!.qpos);
    expect(moved).toBeLessThan(HELD);
    expect((await arm.world.daemon.cli(['stop', '--release'])).code).toBe(0);
    return moved;
  };

  it('holds the pan a trajectory moves after a gripper-only trajectory came on the same topic', async () => {
    const { bus } = arm.world;
    const pan = arm.ticks().at(-1)!.qpos[0]!;
    await moving(
      async (to) => {
        bus.publish(TRAJECTORY_TOPIC, TRAJECTORY, codec.encode(TRAJECTORY, trajectory(['shoulder_pan'], [to], 6)));
        bus.publish(TRAJECTORY_TOPIC, TRAJECTORY, codec.encode(TRAJECTORY, trajectory(['gripper'], [0.5], 1)));
      },
      0,
      pan + 1.8,
    );
    console.log(JSON.stringify({ pan_after_gripper_stop_rad: await holds(() => arm.world.daemon.cli(['stop'])) }));
  }, 180_000);

  it('holds a forward position controller', async () => {
    const { bus } = arm.world;
    const here = arm.ticks().at(-1)!.qpos;
    const to = (pan: number) =>
      bus.publish(FORWARD_TOPIC, ARRAY, codec.encode(ARRAY, array([pan, ...here.slice(1, 5)])));
    await moving(to, 0, here[0]! - 1.5);
    console.log(JSON.stringify({ forward_stop_rad: await holds(() => arm.world.daemon.cli(['stop'])) }));
  }, 180_000);

  it("holds the arm when the agent's stop skill stops it, as the operator's stop", async () => {
    const { bus, daemon } = arm.world;
    const pan = arm.ticks().at(-1)!.qpos[0]!;
    await moving(
      async (to) =>
        bus.publish(TRAJECTORY_TOPIC, TRAJECTORY, codec.encode(TRAJECTORY, trajectory(['shoulder_pan'], [to], 6))),
      0,
      pan + 1.8,
    );
    const moved = await holds(async () => {
      const run = await daemon.cli(['intent', 'stop', '--wait']);
      const status = await daemon.cli(['status']);
      expect(status.stdout).toMatch(/ROBOT STOPPED: latched by the stop skill/);
      return run;
    });
    console.log(JSON.stringify({ stop_skill_rad: moved }));
  }, 180_000);
});
