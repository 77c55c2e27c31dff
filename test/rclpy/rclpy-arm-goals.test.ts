import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { FOLLOW_JOINT_TRAJECTORY, GRIPPER_COMMAND, withArmActions } from './arm-actions.ts';
import { goalFromCli } from './cli-goal.ts';
import { RclpyPeer, shares } from './rclpy-peer.ts';

const DOMAIN = 33;
const TRAJECTORY_ACTION = '/arm_controller/follow_joint_trajectory';
const GRIPPER_ACTION = '/gripper_controller/gripper_cmd';
const hex = (goalId: string) => goalId.replaceAll('-', '');

/** A trajectory of `n` points for one joint, a second apart. */
const trajectory = (n: number) =>
  JSON.stringify({
    trajectory: {
      joint_names: ['shoulder_pan'],
      points: Array.from({ length: n }, (_, i) => ({ positions: [0.1 * i], time_from_start: { sec: i + 1 } })),
    },
  });
const grip = JSON.stringify({ name: GRIPPER_ACTION, type: GRIPPER_COMMAND, goal: { command: { position: 0.02 } } });

/**
 * An arm's goals, control_msgs' FollowJointTrajectory and GripperCommand, at an rclpy node serving them as
 * ros2_control's controllers do (PyPI's Jazzy wheels, Fast DDS on loopback; test/rclpy/arm-actions.ts builds the
 * interfaces the wheels lack), through the daemon's doors that send goals: `auraison-edge action send_goal` (the
 * actions API) and a call_action intent (the agent's skill, as MCP's call_action runs it). Sent while the robot may
 * move; refused while the operator's stop is latched, naming what the goal would have moved and how to release; a
 * trajectory in flight cancelled at the node by the stop.
 */
describe("an arm's goals at rclpy controllers, with the operator's stop latched and not", () => {
  let ros: Ros2Peer;
  let env: NodeJS.ProcessEnv;
  let daemon: Ros2Daemon;
  let arm: RclpyPeer;
  const goals = () => arm.all('goal').length;
  const stop = async () => expect((await daemon.cli(['stop', '--reason', 'arm goals test'])).code).toBe(0);
  const release = async () => expect((await daemon.cli(['stop', '--release'])).code).toBe(0);

  beforeAll(async () => {
    ros = ros2Peer('jazzy');
    // A first build of the two packages takes a minute or two; later runs reuse it.
    env = await withArmActions(ros.env(DOMAIN));
    arm = await RclpyPeer.start(ros.python, env, {
      node: 'arm',
      role: 'arm_server',
      action: TRAJECTORY_ACTION,
      gripper: GRIPPER_ACTION,
      period_s: 0.2,
    });
    daemon = await Ros2Daemon.start(
      env,
      {
        node_name: 'edge_arm',
        rclnodejs: ros.rclnodejs,
        bridge_recorded: false,
        actions: { call: [TRAJECTORY_ACTION, GRIPPER_ACTION] },
      },
      { bus: { definitions: { dirs: shares(env) } } },
    );
    const called = async () => ((await daemon.rosDetails()).actions_called as string[] | undefined) ?? [];
    await waitFor(
      async () => (await called()).includes(TRAJECTORY_ACTION) && (await called()).includes(GRIPPER_ACTION),
      'the arm actions on the bus',
      120_000,
    );
  }, 400_000);

  afterAll(async () => {
    await arm?.close();
    if (daemon) expect(await daemon.stop()).toBe(0);
  }, 60_000);

  it('sends a trajectory from the actions API and a gripper command from call_action while the robot may move', async () => {
    const goal = goalFromCli(daemon, TRAJECTORY_ACTION, FOLLOW_JOINT_TRAJECTORY, trajectory(2));
    expect((await goal.done).code, goal.text()).toBe(0);
    const id = hex(String(goal.lines.find((l) => l.accepted === true)!.goal_id));
    expect(goal.lines.at(-1)).toMatchObject({ state: 'succeeded' });
    expect(arm.all('goal').find((e) => e.goal === id)).toMatchObject({ action: TRAJECTORY_ACTION, points: 2 });

    const run = await daemon.cli(['intent', 'call_action', '--params', grip, '--wait']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    await arm.next((e) => e.event === 'goal' && e.action === GRIPPER_ACTION, 'the gripper goal at the node');
  }, 120_000);

  it('refuses both from each door while the stop is latched, saying what they would move and how to release', async () => {
    await stop();
    try {
      const before = goals();
      const goal = goalFromCli(daemon, TRAJECTORY_ACTION, FOLLOW_JOINT_TRAJECTORY, trajectory(2));
      expect((await goal.done).code).toBe(1);
      expect(goal.text()).toContain('a control_msgs/action/FollowJointTrajectory goal with points');
      expect(goal.text()).toContain('auraison-edge stop --release');
      expect(goal.lines.some((l) => l.accepted === true)).toBe(false);

      const run = await daemon.cli(['intent', 'call_action', '--params', grip, '--wait']);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toContain('a control_msgs/action/GripperCommand goal: it moves the gripper');
      expect(goals()).toBe(before);
    } finally {
      await release();
    }
    // Released, the same goal goes out again.
    const again = goalFromCli(daemon, TRAJECTORY_ACTION, FOLLOW_JOINT_TRAJECTORY, trajectory(1));
    expect((await again.done).code, again.text()).toBe(0);
  }, 120_000);

  it('cancels a trajectory in flight at the controller when the stop comes: the arm does not finish the move', async () => {
    const goal = goalFromCli(daemon, TRAJECTORY_ACTION, FOLLOW_JOINT_TRAJECTORY, trajectory(50));
    await waitFor(() => goal.lines.some((l) => 'feedback' in l), 'the first feedback', 60_000);
    const id = hex(String(goal.lines.find((l) => l.accepted === true)!.goal_id));
    try {
      const stopped = await daemon.cli(['stop', '--reason', 'mid-trajectory', '--json']);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toContain(`${TRAJECTORY_ACTION} `);
      await arm.next((e) => e.event === 'cancel' && e.goal === id, 'the cancel at the node');
      const done = await arm.next((e) => e.event === 'done' && e.goal === id, 'the goal done at the node');
      expect(done.status).toBe('CANCELED');
      expect(arm.all('feedback').filter((e) => e.goal === id).length).toBeLessThan(50);
      expect((await goal.done).code).toBe(1);
      expect(goal.lines.at(-1)).toMatchObject({ state: 'canceled' });
    } finally {
      await release();
    }
  }, 120_000);
});
