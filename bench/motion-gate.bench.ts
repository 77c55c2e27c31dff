import { Value } from 'typebox/value';
import { DefinitionsRegistry, MessageCodec } from '../daemon/bus/index.ts';
import { MotionConfig } from '../daemon/config/sections/motion.ts';
import { AgentRulesConfig } from '../daemon/config/sections/system2.ts';
import type { HookSettings } from '../daemon/policy/hooks.ts';
import type { ToolCallContext } from '../daemon/contract/index.ts';
import { JointFrame } from '../daemon/motion/joint-frame.ts';
import { parseUrdfLimits } from '../daemon/motion/urdf-limits.ts';
import { commandGuard } from '../daemon/motion/command-guard.ts';
import { MotionGuard } from '../daemon/motion/guard.ts';
import { policyHooks } from '../daemon/policy/hooks.ts';
import type { JointInputs } from '../daemon/motion/joint-limits-hook.ts';
import { runPolicyChain } from '../daemon/policy/policy-chain.ts';
import { percentile, tail, type BenchResult } from './bench.ts';

// The motion frame's cost per command, each beside the same command unguarded, measured in the same run:
// - in a loop's thread: JointFrame.apply on a six-joint command (limits, max_step from the measured position, the time
//   its velocity limits need), against copying the command (what a loop does with no frame); goal under 5 µs p99;
// - through the publish chain: a JointTrajectory publish through the agent's hooks (the motion guard's stages), then
//   the door to the robot (commandGuard: the latch again for what the hooks judged), against the hooks alone; goal
//   within 1.2x;
// - at the door for `bag play` (decode, every stage of the guard, encode when it rewrites), against the bytes passed
//   as they are.

const ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'];
const URDF = `<robot name="arm">${ARM.map(
  (name) => `<joint name="${name}" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>`,
).join('')}</robot>`;
const CALLS = Number(process.env.MOTION_BENCH_CALLS ?? 20_000);
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';

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

/** Both sides warmed, then measured one after the other, so neither has the quieter part of the run alone. */
function paired(a: (i: number) => void, b: (i: number) => void): [number[], number[]] {
  eachCall(a);
  eachCall(b);
  return [eachCall(a), eachCall(b)];
}

export async function run(): Promise<BenchResult[]> {
  const limits = parseUrdfLimits(URDF, 'bench.urdf');
  const at = Float64Array.of(1.0, 0.5, -0.5, 1.2, 0.0, 0.8);

  // A loop's thread: the frame against a copy.
  const frame = JointFrame.compile(ARM, limits, { mode: 'clamp', max_step: 0.2 }, 'bench');
  const command = new Float64Array(6);
  const sent = new Float64Array(6);
  const durations = new Float64Array(1);
  const fill = (i: number) => {
    const off = i & 1 ? 0.3 : 0.05;
    for (let j = 0; j < 6; j++) command[j] = at[j]! + off;
  };
  const [framedUs, copiedUs] = paired(
    (i) => {
      fill(i);
      frame.apply(command, 1, at, durations);
    },
    (i) => {
      fill(i);
      sent.set(command);
    },
  );

  // The publish chain: the hooks, then the door, against the hooks alone.
  const settings: HookSettings = {
    rules: Value.Default(AgentRulesConfig, {}) as HookSettings['rules'],
    motion: Value.Default(MotionConfig, { joints: { urdf: 'bench.urdf' } }) as HookSettings['motion'],
  };
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
  const hooks = policyHooks(settings, { joints: () => inputs });
  const codec = new MessageCodec(new DefinitionsRegistry());
  const door = commandGuard({
    topic: '/arm_controller/joint_trajectory',
    type: TRAJECTORY,
    codec,
    guard: new MotionGuard(settings.motion, { joints: () => inputs }),
    counters: { clamped: 0, held: 0 },
  })!;
  const intent = {
    intent_id: 'i',
    type: 'publish',
    params: {},
    policy_ctx: { actor: 'b', source: 'cli' },
    targets: [],
  };
  const ctx = { intent, tool: 'publish', callIndex: 1 } as unknown as ToolCallContext;
  const fields = (i: number) => ({
    joint_names: ARM,
    points: [{ positions: [...at.map((p) => p + (i & 1 ? 0.3 : 0.05))], time_from_start: { sec: 0, nanosec: 0 } }],
  });
  const throughHooks = (i: number) => {
    const input = { topic: '/arm_controller/joint_trajectory', type: TRAJECTORY, fields: fields(i) };
    const outcome = runPolicyChain<unknown>(hooks, input, (hook, value) => hook.beforeToolCall?.(ctx, value));
    if ('then' in outcome || !outcome.allowed) throw new Error('the bench command was refused');
    return codec.encode(TRAJECTORY, (outcome.value as typeof input).fields);
  };
  const [chainDoorUs, chainUs] = paired(
    (i) => door(throughHooks(i), 'agent'),
    (i) => throughHooks(i),
  );

  // The door for bag play: the joint limits on the bytes, against the bytes as they are.
  const recorded = [codec.encode(TRAJECTORY, fields(0)), codec.encode(TRAJECTORY, fields(1))];
  let passed = 0;
  const [bagDoorUs, bagBareUs] = paired(
    (i) => void door(recorded[i & 1]!, 'bag-play'),
    (i) => void (passed += recorded[i & 1]!.byteLength),
  );

  const chainRatio = percentile(chainDoorUs, 99) / percentile(chainUs, 99);
  return [
    {
      name: "a loop's joint command in its thread: JointFrame.apply, 6 joints (p99 per command)",
      ours: percentile(framedUs, 99),
      baseline: { name: 'the same command copied, unguarded', value: percentile(copiedUs, 99) },
      unit: 'µs',
      better: 'lower',
      goal: '< 5 µs p99',
      met: percentile(framedUs, 99) < 5,
      notes: [`framed: ${tail(framedUs, 'µs', 2)}`, `copied: ${tail(copiedUs, 'µs', 2)}`],
    },
    {
      name: 'a JointTrajectory publish: the policy hooks, then the door to the robot (p99 per command)',
      ours: percentile(chainDoorUs, 99),
      baseline: { name: 'the hooks alone, no door', value: percentile(chainUs, 99) },
      unit: 'µs',
      better: 'lower',
      goal: 'within 1.2x',
      met: chainRatio <= 1.2,
      notes: [`with the door: ${tail(chainDoorUs, 'µs', 1)}`, `hooks alone: ${tail(chainUs, 'µs', 1)}`],
    },
    {
      name: "bag play's JointTrajectory at the door to the robot, held to the joint limits (p99 per message)",
      ours: percentile(bagDoorUs, 99),
      baseline: { name: 'the bytes passed as they are', value: percentile(bagBareUs, 99) },
      unit: 'µs',
      better: 'lower',
      notes: [`guarded: ${tail(bagDoorUs, 'µs', 1)}`, `bytes passed: ${passed} B`],
    },
  ];
}
