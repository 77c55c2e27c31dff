import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SO101_JOINTS, So101Node, so101Peer } from '../peers/arm.ts';
import { waitForValue } from '../helpers/wait.ts';
import { startRclpyWorld, type RclpyWorld } from '../rclpy/rclpy-daemon.ts';
import { writeLinearModel } from '../system1/models.ts';

/**
 * A controller that is not there: a loop commanding a joint trajectory controller the robot has not loaded moves
 * nothing, and the daemon says so (status degraded, the loop UNHEARD, naming the topic); the loop commanding the
 * simulated SO-101's own controller is heard.
 */

// A fixed domain no other test takes (Fast DDS takes none above 232; test/ros2dds draws from 100..229).
const DOMAIN = 97;
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';

describe('a control loop whose controller is not loaded', () => {
  let world: RclpyWorld;
  let arm: So101Node;
  let dir: string;

  beforeAll(async () => {
    const peer = so101Peer();
    const env = peer.env(DOMAIN);
    dir = mkdtempSync(join(tmpdir(), 'unheard-'));
    // Six joints in, six out: the arm's measured position, sent back as it is (a hold).
    const model = writeLinearModel(
      dir,
      'hold',
      Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0)),
      new Array<number>(6).fill(0),
    );
    const policy = (topic: string) => ({
      model,
      inputs: { obs: { sources: [{ topic: '/joint_states', joints: SO101_JOINTS }] } },
      outputs: { actions: { command: { topic, type: TRAJECTORY, joint_names: SO101_JOINTS } } },
    });
    world = await startRclpyWorld(
      'jazzy',
      DOMAIN,
      {
        node_name: 'edge_unheard',
        topics: ['/joint_states'],
        publish: ['/arm_controller/joint_trajectory', '/ghost_controller/joint_trajectory'],
      },
      {
        policies: {
          real: policy('/arm_controller/joint_trajectory'),
          ghost: policy('/ghost_controller/joint_trajectory'),
        },
        control: {
          loops: {
            real: { policy: 'real', rate_hz: 10, max_observation_age_ms: 1000 },
            ghost: { policy: 'ghost', rate_hz: 10, max_observation_age_ms: 1000 },
          },
        },
      },
      env,
    );
    arm = await So101Node.start(peer, env, { cameraRate: 0 });
  }, 180_000);

  afterAll(async () => {
    await arm?.close();
    world?.bus.close();
    if (world) expect(await world.daemon.stop()).toBe(0);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says the loop commanding no one is unheard, names its topic, and the one the arm takes is heard', async () => {
    const control = await waitForValue(
      async () => {
        const status = await world.daemon.status();
        const c = status.components.control;
        const reason = (c as { reason?: string } | undefined)?.reason;
        return c?.state === 'degraded' && reason?.includes('no node subscribes') ? { ...c, reason } : undefined;
      },
      'the control component to say the ghost loop is unheard',
      60_000,
    );
    expect(control.reason).toMatch(
      /control loop ghost: no node subscribes \/ghost_controller\/joint_trajectory \(trajectory_msgs\/msg\/JointTrajectory\): is its controller loaded and active/,
    );
    const loops = control.details as Record<string, { unheard?: string; ticks: number }>;
    expect(loops.real!.unheard).toBeUndefined();
    expect(loops.real!.ticks).toBeGreaterThan(0);
    const human = await world.daemon.cli(['status']);
    expect(human.stdout).toMatch(/UNHEARD, its commands move nothing: no node subscribes \/ghost_controller/);
  });
});
