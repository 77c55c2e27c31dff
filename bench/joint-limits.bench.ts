import { Value } from 'typebox/value';
import { MotionConfig } from '../daemon/config/sections/motion.ts';
import { AgentRulesConfig } from '../daemon/config/sections/system2.ts';
import type { HookSettings } from '../daemon/policy/hooks.ts';
import type { ToolCallContext } from '../daemon/contract/index.ts';
import { policyHooks } from '../daemon/policy/hooks.ts';
import type { JointInputs } from '../daemon/motion/joint-limits-hook.ts';
import { JointFrame } from '../daemon/motion/joint-frame.ts';
import { parseUrdfLimits } from '../daemon/motion/urdf-limits.ts';
import { runPolicyChain } from '../daemon/policy/policy-chain.ts';
import { limitTwist } from '../daemon/motion/velocity.ts';
import { percentile, tail, type BenchResult } from './bench.ts';

// A joint command's cost through the joint limits (motion.joints), for a six-joint arm:
// - JointFrame.apply, the part a control loop runs every tick, per command of one point, beside limitTwist (the
//   wheeled base's frame) on a Twist; each timed in batches of BATCH calls, so the clock's own cost is not counted;
// - a JointTrajectory `publish` through the whole policy chain with motion.joints, beside the same chain without it:
//   the difference is what the joint limits add to a command from a door (the issue's goal: under 50 µs p99).

const ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'];
const URDF = `<robot name="arm">${ARM.map(
  (name) => `<joint name="${name}" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>`,
).join('')}</robot>`;
const BATCH = 1000;
const BATCHES = Number(process.env.JOINT_BENCH_BATCHES ?? 400);
const CALLS = Number(process.env.JOINT_BENCH_CALLS ?? 20_000);

/** µs per call of `call`, one figure per batch, sorted. */
function perCall(call: (i: number) => void): number[] {
  const us: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) call(i);
    us.push(Number(process.hrtime.bigint() - start) / 1e3 / BATCH);
  }
  return us.sort((x, y) => x - y);
}

/** µs of each call of `call`, sorted. */
function eachCall(call: (i: number) => void): number[] {
  const us: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    call(i);
    us.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  return us.sort((x, y) => x - y);
}

export async function run(): Promise<BenchResult[]> {
  const limits = parseUrdfLimits(URDF, 'bench.urdf');
  const frame = JointFrame.compile(ARM, limits, { mode: 'clamp', max_step: 0.2 }, 'bench');
  const at = Float64Array.of(1.0, 0.5, -0.5, 1.2, 0.0, 0.8);
  const command = new Float64Array(6);
  const durations = new Float64Array(1);
  const frameCall = (i: number) => {
    // A policy's action a little off where the arm is: within the step on even ticks, past it on odd ones.
    const off = i & 1 ? 0.3 : 0.05;
    for (let j = 0; j < 6; j++) command[j] = at[j]! + off;
    frame.apply(command, 1, at, durations);
  };
  const velocity = { topic: '/cmd_vel', max_linear_x: 0.22, max_angular_z: 2.84, mode: 'clamp' as const };
  const twistCall = (i: number) => {
    const x = i & 1 ? 0.5 : 0.1;
    limitTwist({ linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0.3 } }, velocity);
  };
  const [frameUs, twistUs] = [perCall(frameCall), perCall(twistCall)];

  const settings = (joints: boolean): HookSettings => ({
    rules: Value.Default(AgentRulesConfig, {}) as HookSettings['rules'],
    motion: Value.Default(MotionConfig, joints ? { joints: { urdf: 'bench.urdf' } } : {}) as HookSettings['motion'],
  });
  const inputs: JointInputs = {
    limits: () => limits,
    measured: {
      topic: '/joint_states',
      read(names, out) {
        for (let j = 0; j < names.length; j++) out[j] = at[j]!;
        return names.length;
      },
    },
  };
  const intent = {
    intent_id: 'i',
    type: 'publish',
    params: {},
    policy_ctx: { actor: 'b', source: 'cli' },
    targets: [],
  };
  const ctx = { intent, tool: 'publish', callIndex: 1 } as unknown as ToolCallContext;
  const chain = (joints: boolean) => {
    const hooks = policyHooks(settings(joints), { joints: () => inputs });
    return (i: number) => {
      const positions = at.map((p) => p + (i & 1 ? 0.3 : 0.05));
      const input = {
        topic: '/arm_controller/joint_trajectory',
        type: 'trajectory_msgs/msg/JointTrajectory',
        fields: { joint_names: ARM, points: [{ positions: [...positions], time_from_start: { sec: 0, nanosec: 0 } }] },
      };
      const outcome = runPolicyChain<unknown>(hooks, input, (hook, value) => hook.beforeToolCall?.(ctx, value));
      if ('then' in outcome || !outcome.allowed) throw new Error('the bench command was refused');
    };
  };
  const [withJoints, without] = [chain(true), chain(false)];
  // Warmed, then alternated, so that neither side has the quieter part of the run.
  eachCall(withJoints);
  eachCall(without);
  const [withUs, withoutUs] = [eachCall(withJoints), eachCall(without)];
  const added = percentile(withUs, 99) - percentile(withoutUs, 99);
  return [
    {
      name: 'JointFrame.apply, 6 joints, 1 point, measured and durations (per call, batches of 1000)',
      ours: percentile(frameUs, 50),
      baseline: { name: 'limitTwist on a Twist', value: percentile(twistUs, 50) },
      unit: 'µs',
      better: 'lower',
      notes: [`ours: ${tail(frameUs, 'µs', 3)}`, `limitTwist: ${tail(twistUs, 'µs', 3)}`],
    },
    {
      name: 'a JointTrajectory publish through the policy chain with motion.joints (p99 per command)',
      ours: percentile(withUs, 99),
      baseline: { name: 'the same chain without motion.joints', value: percentile(withoutUs, 99) },
      unit: 'µs',
      better: 'lower',
      goal: 'added < 50 µs p99 per command',
      met: added < 50,
      notes: [
        `with: ${tail(withUs, 'µs', 1)}`,
        `without: ${tail(withoutUs, 'µs', 1)}`,
        `added at p99: ${added.toFixed(1)} µs`,
      ],
    },
  ];
}
