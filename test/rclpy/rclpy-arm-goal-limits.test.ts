import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2Peer } from '../peers/ros2.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { FOLLOW_JOINT_TRAJECTORY, GRIPPER_COMMAND, withArmActions } from './arm-actions.ts';
import { goalFromCli } from './cli-goal.ts';
import { RclpyPeer, shares } from './rclpy-peer.ts';
import { TopicNode } from './topic-node.ts';

/**
 * An arm's action goals are held to motion.joints as its published trajectories are: a FollowJointTrajectory goal
 * past the URDF, further than max_step from where the arm is measured, or faster than its velocity limits, and a
 * GripperCommand outside the gripper joint's limits, are refused at each door that sends goals (the actions API, the
 * agent's call_action through the ROS bridge) and never reach the rclpy controllers; a goal within them does.
 */

const DOMAIN = 34;
const TRAJECTORY_ACTION = '/arm_controller/follow_joint_trajectory';
const GRIPPER_ACTION = '/gripper_controller/gripper_cmd';
const tmp = tempDir('arm-goal-limits-');
const URDF = join(tmp.path, 'arm.urdf');
writeFileSync(
  URDF,
  `<robot name="arm">
  <joint name="shoulder_pan" type="revolute"><limit lower="-1.9" upper="1.9" velocity="1"/></joint>
  <joint name="gripper" type="revolute"><limit lower="-0.17" upper="1.75" velocity="1"/></joint>
</robot>`,
);

const goalOf = (position: number, seconds: number) =>
  JSON.stringify({
    trajectory: {
      joint_names: ['shoulder_pan'],
      points: [{ positions: [position], time_from_start: { sec: seconds } }],
    },
  });
const grip = (position: number) =>
  JSON.stringify({ name: GRIPPER_ACTION, type: GRIPPER_COMMAND, goal: { command: { position } } });

describe("an arm's goals held to its joint limits", () => {
  let daemon: Ros2Daemon;
  let arm: RclpyPeer;
  let states: TopicNode;
  let driver: NodeJS.Timeout | undefined;
  const goals = () => arm.all('goal').length;

  beforeAll(async () => {
    const ros = ros2Peer('jazzy');
    const env = await withArmActions(ros.env(DOMAIN));
    arm = await RclpyPeer.start(ros.python, env, {
      node: 'arm',
      role: 'arm_server',
      action: TRAJECTORY_ACTION,
      gripper: GRIPPER_ACTION,
      period_s: 0.2,
    });
    // The robot's own joint states, as a joint_state_broadcaster publishes them.
    states = await TopicNode.start(ros, env, 'joint_state_broadcaster');
    await states.publisher('/joint_states', 'sensor_msgs/msg/JointState');
    const say = () => void states.publish('/joint_states', { name: ['shoulder_pan', 'gripper'], position: [0, 0.5] });
    driver = setInterval(say, 50);
    daemon = await Ros2Daemon.start(
      env,
      {
        node_name: 'edge_arm_limits',
        rclnodejs: ros.rclnodejs,
        bridge_recorded: false,
        topics: ['/joint_states'],
        actions: { call: [TRAJECTORY_ACTION, GRIPPER_ACTION] },
      },
      { bus: { definitions: { dirs: shares(env) } }, motion: { joints: { urdf: URDF, max_step: 0.5 } } },
    );
    const called = async () => ((await daemon.rosDetails()).actions_called as string[] | undefined) ?? [];
    await waitFor(
      async () => (await called()).includes(TRAJECTORY_ACTION) && (await called()).includes(GRIPPER_ACTION),
      'the arm actions on the bus',
      120_000,
    );
    await waitFor(
      async () => /joint states: \/joint_states, [\d.]+ s old/.test((await daemon.cli(['status'])).stdout),
      'the measured joints',
    );
  }, 400_000);

  afterAll(async () => {
    clearInterval(driver);
    await states?.stop();
    await arm?.close();
    if (daemon) expect(await daemon.stop()).toBe(0);
    tmp.cleanup();
  }, 60_000);

  it('refuses a trajectory goal past max_step or too fast, at the actions API, naming the joint; one within goes out', async () => {
    const before = goals();
    for (const [position, seconds, why] of [
      [1.5, 0, /"shoulder_pan" at point 0 is 1.5, 1.5 from the measured position 0: more than max_step 0.5/],
      [0.4, 0, /sooner than the velocity limits allow/],
    ] as const) {
      const goal = goalFromCli(daemon, TRAJECTORY_ACTION, FOLLOW_JOINT_TRAJECTORY, goalOf(position, seconds));
      expect((await goal.done).code).toBe(1);
      expect(goal.text()).toMatch(why);
      expect(goal.lines.some((l) => l.accepted === true)).toBe(false);
    }
    expect(goals()).toBe(before);
    const within = goalFromCli(daemon, TRAJECTORY_ACTION, FOLLOW_JOINT_TRAJECTORY, goalOf(0.4, 1));
    expect((await within.done).code, within.text()).toBe(0);
    expect(goals()).toBe(before + 1);
  }, 120_000);

  it('refuses a gripper goal outside the gripper joint from call_action, and sends one within', async () => {
    const before = goals();
    const run = await daemon.cli(['intent', 'call_action', '--params', grip(5.0), '--wait']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(
      /GripperCommand goal to position 5, outside "gripper"'s limits \[-0.17, 1.75\]/,
    );
    expect(goals()).toBe(before);
    const ok = await daemon.cli(['intent', 'call_action', '--params', grip(1.0), '--wait']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(goals()).toBe(before + 1);
  }, 120_000);
});
