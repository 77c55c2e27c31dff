import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { componentContext, type TestContext } from '../helpers/component-context.ts';
import { skillIntent } from '../helpers/intents.ts';
import type { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { checkConfigObject } from '../../daemon/config/load.ts';
import { settled, startAgent, stopAgents } from './agent-harness.ts';

// A `publish` skill intent of a JointTrajectory on a daemon with motion.joints: the agent's own door holds it to the
// URDF's limits and a step from the measured /joint_states, and says so in the run's events; a joint the robot does
// not have fails the run with the joint named, and nothing is published.

const ARM = ['pan', 'lift'];
const URDF = `<robot name="arm">
  <joint name="pan" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>
  <joint name="lift" type="revolute"><limit lower="-1" upper="1" velocity="1"/></joint>
</robot>`;
const TOPIC = '/arm_controller/joint_trajectory';
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const JOINT_STATE = 'sensor_msgs/msg/JointState';
const dir = tempDir('publish-joint-limits-');
writeFileSync(join(dir.path, 'arm.urdf'), URDF);

afterEach(() => stopAgents());
afterAll(() => dir.cleanup());

type Event = { kind: string; payload: Record<string, unknown> };
type Trajectory = { points: { positions: Float64Array; time_from_start: { sec: number; nanosec: number } }[] };

const JOINTS = { urdf: join(dir.path, 'arm.urdf'), max_step: 0.2 };

function arm(joints: boolean = true): { ctx: TestContext; seen: Trajectory[] } {
  const ctx = componentContext(joints ? { motion: { joints: JOINTS } } : {});
  const seen: Trajectory[] = [];
  ctx.bus.subscribe({
    name: 'arm-controller',
    topic: TOPIC,
    handler: (m) => void seen.push(ctx.codec.decode(m.type, m.data)),
  });
  return { ctx, seen };
}

async function publishTrajectory(ctx: TestContext, names: string[], positions: number[], agent?: AgentComponent) {
  agent ??= await startAgent(ctx, {});
  // Where the arm is, as its driver says at 50 Hz, while the command is decided.
  const states = ctx.bus.advertise('/joint_states', JOINT_STATE, { source: 'ros' });
  const say = () => states.publish(ctx.codec.encode(JOINT_STATE, { name: ARM, position: [1, 0] }));
  const driver = setInterval(say, 20);
  try {
    say();
    const fields = { joint_names: names, points: [{ positions }] };
    const run = await agent.submitIntent(skillIntent('publish', { topic: TOPIC, type: TRAJECTORY, fields }), 'http');
    return await settled(agent, run.run_id);
  } finally {
    clearInterval(driver);
  }
}

describe('a publish intent of a JointTrajectory with motion.joints', () => {
  it('publishes it held to the limits and the step, and the run names the rule', async () => {
    const { ctx, seen } = arm();
    const { run, events } = await publishTrajectory(ctx, ARM, [3, -3]);
    expect(run.status).toBe('succeeded');
    expect(seen).toHaveLength(1);
    expect([...seen[0]!.points[0]!.positions].map((p) => +p.toFixed(6))).toEqual([1.2, -0.2]);
    expect(seen[0]!.points[0]!.time_from_start).toEqual({ sec: 0, nanosec: 200_000_000 }); // 0.2 rad at 1 rad/s
    const decisions = (events as Event[]).filter((e) => e.kind === 'policy.decision').map((e) => e.payload);
    expect(decisions).toEqual([
      expect.objectContaining({
        hook: 'joints',
        rule: 'joints.limit',
        action: 'rewrite',
        reason: expect.stringContaining('"pan" at point 0 is 3, above its upper limit 1.5'),
      }),
    ]);
  });

  it('fails the run naming a joint the robot does not have, and publishes nothing', async () => {
    const { ctx, seen } = arm();
    const { run } = await publishTrajectory(ctx, ['pan', 'lfit'], [1, 0]);
    expect(run.status).toBe('failed');
    expect(JSON.stringify(run)).toContain('the robot has no joint \\"lfit\\" (did you mean \\"lift\\"?)');
    expect(seen).toEqual([]);
  });

  it('takes motion.joints set by a reload for the next command', async () => {
    const { ctx, seen } = arm(false);
    const agent = await startAgent(ctx, {});
    await publishTrajectory(ctx, ARM, [3, -3], agent);
    expect([...seen[0]!.points[0]!.positions]).toEqual([3, -3]);
    const motion = checkConfigObject({ motion: { joints: JOINTS } }, {}).config!.motion;
    // As the daemon's reload does: the robot's inputs first, then the components.
    ctx.robot.applySettings(motion.joints);
    agent.applySettings({ ...ctx.config, motion });
    await publishTrajectory(ctx, ARM, [3, -3], agent);
    expect([...seen[1]!.points[0]!.positions].map((p) => +p.toFixed(6))).toEqual([1.2, -0.2]);
  });
});
