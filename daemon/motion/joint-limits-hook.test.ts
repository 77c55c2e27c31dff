import { describe, expect, it } from 'vitest';
import { hookSettings } from '../../test/helpers/hook-settings.ts';
import type { ToolCallContext } from '../contract/policy-hook.ts';
import { policyHooks } from '../policy/hooks.ts';
import { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
import { parseUrdfLimits } from './urdf-limits.ts';
import { runPolicyChain } from '../policy/policy-chain.ts';

const URDF = `<robot name="arm">
  <joint name="pan" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>
  <joint name="lift" type="revolute"><limit lower="-1" upper="1" velocity="1"/></joint>
  <joint name="base" type="fixed"/>
</robot>`;
const LIMITS = parseUrdfLimits(URDF, 'arm.urdf');
const TRAJECTORY = '/arm_controller/joint_trajectory';
const FORWARD = '/forward_position_controller/commands';

const settings = (joints: Record<string, unknown> = {}) =>
  hookSettings({ joints: { urdf: 'arm.urdf', topics: { [FORWARD]: ['pan', 'lift'] }, ...joints } });

/** Inputs with `measured` as the arm's positions by name (a joint left out is not measured). */
const inputs = (measured: Record<string, number>, limits: JointInputs['limits'] = () => LIMITS): JointInputs => ({
  limits,
  measured: {
    topic: '/joint_states',
    read(names, out) {
      names.forEach((name, j) => (out[j] = measured[name] ?? NaN));
      return names.filter((name) => name in measured).length;
    },
  },
});

const AT_REST = { pan: 0, lift: 0 };
const publish = (topic: string, type: string, fields: unknown) => ({ topic, type, fields });
const trajectory = (
  points: {
    positions: number[];
    velocities?: number[];
    accelerations?: number[];
    effort?: number[];
    time_from_start?: object;
  }[],
  names = ['pan', 'lift'],
) => publish(TRAJECTORY, 'trajectory_msgs/msg/JointTrajectory', { joint_names: names, points });

/** `joints` null: none loaded. */
function decide(input: unknown, joints: JointInputs | null = inputs(AT_REST), policy = settings()) {
  const hook = jointLimitsHook(policy.motion.joints, () => joints ?? undefined);
  return hook.beforeToolCall!({ tool: 'publish' } as ToolCallContext, input);
}

describe("a trajectory's velocities and efforts", () => {
  const EFFORT = parseUrdfLimits(URDF.replace('velocity="2"', 'velocity="2" effort="10"'), 'arm.urdf');
  const rated = (velocities: number[], effort: number[]) =>
    trajectory([{ positions: [0.1, -0.1], velocities, effort, time_from_start: { sec: 1, nanosec: 0 } }]);

  it('clamps a velocity past the URDF velocity and an effort past its effort, saying which', () => {
    const decision = decide(
      rated([5, 0.5], [100, 0]),
      inputs(AT_REST, () => EFFORT),
    );
    expect(decision).toMatchObject({
      action: 'rewrite',
      reason: expect.stringContaining('"pan" at point 0 has velocity 5, beyond its limit 2'),
    });
    const point = (decision as { value: { fields: { points: Record<string, number[]>[] } } }).value.fields.points[0]!;
    expect(point.velocities).toEqual([2, 0.5]);
    expect(point.effort).toEqual([10, 0]);
  });

  it('holds a velocity or effort that is not a number to 0', () => {
    const decision = decide(rated([Number.NaN, 0.5], [0, Number.NaN]));
    expect(decision).toMatchObject({
      action: 'rewrite',
      reason: expect.stringContaining('"pan" at point 0 has velocity NaN, not a number'),
    });
    const point = (decision as { value: { fields: { points: Record<string, number[]>[] } } }).value.fields.points[0]!;
    expect(point.velocities).toEqual([0, 0.5]);
    expect(point.effort).toEqual([0, 0]);
  });

  it('refuses them in mode refuse, and leaves a trajectory within them as it is', () => {
    expect(decide(rated([0, -3], []), inputs(AT_REST), settings({ mode: 'refuse' }))).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('"lift" at point 0 has velocity -3, beyond its limit 1'),
    });
    expect(
      decide(
        rated([1, 0.5], [9, 0]),
        inputs(AT_REST, () => EFFORT),
      ),
    ).toEqual({ action: 'allow' });
  });
});

describe("a trajectory's accelerations", () => {
  const point = (accelerations: number[]) =>
    trajectory([{ positions: [0.1, -0.1], accelerations, time_from_start: { sec: 1, nanosec: 0 } }]);

  it('are bounded by motion.joints.limits.<joint>.acceleration (a URDF gives none), and free where none is set', () => {
    const limited = settings({ limits: { pan: { acceleration: 4 } } });
    const decision = decide(point([-30, 50]), inputs(AT_REST), limited);
    expect(decision).toMatchObject({
      action: 'rewrite',
      reason: expect.stringContaining('"pan" at point 0 has acceleration -30, beyond its limit 4'),
    });
    const held = (decision as { value: { fields: { points: Record<string, number[]>[] } } }).value.fields.points[0]!;
    // lift has no acceleration limit: as it came.
    expect(held.accelerations).toEqual([-4, 50]);
    expect(decide(point([3, 50]), inputs(AT_REST), limited)).toEqual({ action: 'allow' });
    expect(
      decide(point([-30, 50]), inputs(AT_REST), settings({ limits: { pan: { acceleration: 4 } }, mode: 'refuse' })),
    ).toMatchObject({ action: 'deny', reason: expect.stringContaining('has acceleration -30') });
    // Not a number is no acceleration a controller can follow, limit or none: held to 0.
    const nan = decide(point([Number.POSITIVE_INFINITY, Number.NaN]), inputs(AT_REST), limited);
    expect(
      (nan as { value: { fields: { points: Record<string, number[]>[] } } }).value.fields.points[0]!.accelerations,
    ).toEqual([0, 0]);
  });
});

describe('the joint limits hook', () => {
  it('lets a trajectory within the limits, the step and the velocity through as it is', () => {
    expect(decide(trajectory([{ positions: [0.1, -0.1], time_from_start: { sec: 1, nanosec: 0 } }]))).toEqual({
      action: 'allow',
    });
  });

  it('clamps each point to the limits and the step, and raises time_from_start to what the velocity allows', () => {
    const decision = decide(
      trajectory([
        { positions: [3, 0.1], time_from_start: { sec: 0, nanosec: 0 } },
        { positions: [0.3, 0.1], time_from_start: { sec: 5, nanosec: 0 } },
      ]),
    );
    expect(decision).toMatchObject({
      action: 'rewrite',
      rule: 'joints.limit',
      reason:
        'clamped on /arm_controller/joint_trajectory: 1 position (first: "pan" at point 0 is 3, above its upper limit 1.5); time_from_start raised on 1 point (first: point 0 at 0 s is sooner than the velocity limits allow (0.1 s))',
    });
    const fields = (decision as { value: { fields: { points: { positions: number[]; time_from_start: object }[] } } })
      .value.fields;
    // pan: 3 -> 1.5 (limit) -> 0.2 (a step of 0.2 from 0): 0.1 s at 2 rad/s. The second point's 5 s is kept.
    expect(fields.points[0]!.positions.map((v) => +v.toFixed(9))).toEqual([0.2, 0.1]);
    expect(fields.points[0]!.time_from_start).toEqual({ sec: 0, nanosec: 100_000_000 });
    expect(fields.points[1]).toEqual({ positions: [0.3, 0.1], time_from_start: { sec: 5, nanosec: 0 } });
  });

  it('refuses instead in mode refuse, naming the joint, its value and the limit', () => {
    const refuse = settings({ mode: 'refuse' });
    expect(decide(trajectory([{ positions: [0, -2] }]), inputs(AT_REST), refuse)).toEqual({
      action: 'deny',
      rule: 'joints.limit',
      reason:
        '"lift" at point 0 is -2, below its lower limit -1 on /arm_controller/joint_trajectory (motion.joints, mode refuse)',
    });
    expect(
      decide(trajectory([{ positions: [0.2, 0], time_from_start: { sec: 0, nanosec: 0 } }]), inputs(AT_REST), refuse),
    ).toMatchObject({
      action: 'deny',
      reason: expect.stringMatching(/point 0 at 0 s is sooner than the velocity limits allow \(0\.1 s\)/),
    });
  });

  it('refuses a command for a joint the robot does not have, or one no command may name', () => {
    expect(decide(trajectory([{ positions: [0, 0] }], ['pan', 'lfit']))).toEqual({
      action: 'deny',
      rule: 'joints.command',
      reason: expect.stringMatching(
        /^\/arm_controller\/joint_trajectory: the robot has no joint "lfit" \(did you mean "lift"\?\); name the joints as the robot's description does: pan, lift$/,
      ),
    });
    expect(decide(trajectory([{ positions: [0] }], ['base']))).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('joint "base" cannot be commanded: a fixed joint'),
    });
    expect(decide(trajectory([{ positions: [0, 0] }], []))).toMatchObject({
      action: 'deny',
      reason: 'a JointTrajectory with points and no joint_names on /arm_controller/joint_trajectory (motion.joints)',
    });
  });

  it('holds a forward controller array and a JointState command, and lets a measurement and a stop through', () => {
    expect(decide(publish(FORWARD, 'std_msgs/msg/Float64MultiArray', { data: [0.1, 9] }))).toMatchObject({
      action: 'rewrite',
      value: { fields: { data: [0.1, 0.2] } },
    });
    expect(decide(publish(FORWARD, 'std_msgs/msg/Float64MultiArray', { data: [0.1] }))).toMatchObject({
      action: 'deny',
      reason: expect.stringContaining('a Float64MultiArray of 1 values for the 2 joints motion.joints.topics lists'),
    });
    // A Float64MultiArray elsewhere (a velocity controller's) is not a position: the latch and other frames judge it.
    expect(
      decide(publish('/velocity_controller/commands', 'std_msgs/msg/Float64MultiArray', { data: [9, 9] })),
    ).toEqual({ action: 'allow' });
    const state = { name: ['pan'], position: [-9] };
    expect(decide(publish('/arm/command', 'sensor_msgs/msg/JointState', state))).toMatchObject({
      action: 'rewrite',
      value: { fields: { name: ['pan'], position: [-0.2] } },
    });
    expect(decide(publish('/joint_states', 'sensor_msgs/msg/JointState', state))).toEqual({ action: 'allow' });
    expect(decide(trajectory([]))).toEqual({ action: 'allow' });
  });

  it('refuses a command with no measured position to step from, and one with no limits yet', () => {
    expect(decide(trajectory([{ positions: [0, 0] }]), inputs({ pan: 0 }))).toEqual({
      action: 'deny',
      rule: 'joints.unavailable',
      reason:
        '/arm_controller/joint_trajectory: no measured position of "lift" on /joint_states in the last 500 ms (motion.joints.state_topic): a joint command needs where the arm is to bound its step',
    });
    const waiting = inputs(AT_REST, () => 'no robot_description yet on /robot_description');
    expect(decide(trajectory([{ positions: [0, 0] }]), waiting)).toMatchObject({
      action: 'deny',
      reason: '/arm_controller/joint_trajectory: no robot_description yet on /robot_description',
    });
    expect(decide(trajectory([{ positions: [0, 0] }]), null)).toMatchObject({
      action: 'deny',
      reason: '/arm_controller/joint_trajectory: motion.joints is set, and no joint limits are loaded here',
    });
  });

  it('refuses a position that is not a number, and a trajectory of velocities only', () => {
    expect(
      decide(publish('/arm/command', 'sensor_msgs/msg/JointState', { name: ['pan'], position: [NaN] })),
    ).toMatchObject({
      action: 'rewrite',
      value: { fields: { position: [0] } },
    });
    expect(decide(trajectory([{ positions: [] }]))).toMatchObject({
      action: 'deny',
      reason: expect.stringMatching(/point 0 of a JointTrajectory has no positions/),
    });
  });

  it('lets every joint command through with no motion.joints, as before', () => {
    const none = hookSettings();
    expect(decide(trajectory([{ positions: [9, 9] }], ['x']), null, none)).toEqual({ action: 'allow' });
  });

  it("runs in the chain as the motion guard's stage after the latch and the velocity limits, before the geofence", () => {
    const hooks = policyHooks(settings(), { joints: () => inputs(AT_REST) });
    expect(hooks.map((h) => h.name)).toEqual([
      'access',
      'quota',
      'stop_latch',
      'velocity',
      'joints',
      'joint_goals',
      'geofence',
      'injection',
    ]);
    const intent = {
      intent_id: 'i',
      type: 'publish',
      params: {},
      policy_ctx: { actor: 't', source: 'cli' },
      targets: [],
    };
    const ctx = { intent, tool: 'publish', callIndex: 1 } as unknown as ToolCallContext;
    const outcome = runPolicyChain<unknown>(hooks, trajectory([{ positions: [0.5, 0] }]), (hook, value) =>
      hook.beforeToolCall?.(ctx, value),
    );
    expect(outcome).toMatchObject({
      allowed: true,
      fired: [{ hook: 'joints', rule: 'joints.limit', action: 'rewrite' }],
    });
  });
});
