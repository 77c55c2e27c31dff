import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { hookSettings } from '../../test/helpers/hook-settings.ts';
import type { PolicyDecision, ToolCallContext } from '../contract/index.ts';
import { policyHooks } from '../policy/hooks.ts';
import { runPolicyChain } from '../policy/policy-chain.ts';
import { commandGuard } from './command-guard.ts';
import { MotionGuard } from './guard.ts';
import type { JointInputs } from './joint-limits-hook.ts';
import { parseUrdfLimits } from './urdf-limits.ts';

let ctx: TestContext;
afterEach(() => ctx?.bus.close());

const LIMITS = parseUrdfLimits(
  '<robot name="r"><joint name="j" type="revolute"><limit lower="-1" upper="1" velocity="1"/></joint>' +
    '<joint name="gripper" type="prismatic"><limit lower="0" upper="0.04" velocity="0.1"/></joint></robot>',
  'test',
);
const JOINTS: JointInputs = {
  limits: () => LIMITS,
  measured: { topic: '/joint_states', read: (names, out) => (out.fill(0, 0, names.length), names.length) },
};
const SETTINGS = hookSettings({
  topics: { allow: ['/**'] },
  velocity: { topic: '/base/cmd_vel', topics: ['/base/**'], max_linear_x: 0.5, max_angular_z: 1 },
  joints: {
    robot_description: '/robot_description',
    state_topic: '/joint_states',
    max_step: 0.2,
    topics: { '/arm/forward': ['j'] },
    gripper_joint: 'gripper',
  },
});
const LAYOUT = { dim: [], data_offset: 0 };
const STEP = { sec: 1, nanosec: 0 };

/** Every actuating type, each on a topic of its own: a command within the limits, and one past them. */
const COMMANDS: [string, string, string, object][] = [
  ['a Twist within limits', '/base/cmd_vel', 'geometry_msgs/msg/Twist', { linear: { x: 0.1 } }],
  ['a Twist too fast', '/base/cmd_vel', 'geometry_msgs/msg/Twist', { linear: { x: 3 }, angular: { z: 0.2 } }],
  ['a TwistStamped', '/base/cmd_vel_stamped', 'geometry_msgs/msg/TwistStamped', { twist: { angular: { z: 0.5 } } }],
  ['a zero Twist (a stop)', '/base/cmd_vel', 'geometry_msgs/msg/Twist', {}],
  [
    'a trajectory within limits',
    '/arm/joint_trajectory',
    'trajectory_msgs/msg/JointTrajectory',
    { joint_names: ['j'], points: [{ positions: [0.1], time_from_start: STEP }] },
  ],
  [
    'a trajectory past them',
    '/arm/joint_trajectory',
    'trajectory_msgs/msg/JointTrajectory',
    { joint_names: ['j'], points: [{ positions: [0.9], time_from_start: STEP }] },
  ],
  [
    'a trajectory of a joint the robot lacks',
    '/arm/joint_trajectory',
    'trajectory_msgs/msg/JointTrajectory',
    { joint_names: ['elbow'], points: [{ positions: [0.1], time_from_start: STEP }] },
  ],
  ['a forward command', '/arm/forward', 'std_msgs/msg/Float64MultiArray', { layout: LAYOUT, data: [0.1] }],
  ['a Float64', '/servo/command', 'std_msgs/msg/Float64', { data: 0.4 }],
  ['an Int32MultiArray', '/gripper/command', 'std_msgs/msg/Int32MultiArray', { layout: LAYOUT, data: [1] }],
  ['a JointState commanded', '/arm/joint_command', 'sensor_msgs/msg/JointState', { name: ['j'], position: [0.1] }],
  ['a Wrench', '/base/wrench', 'geometry_msgs/msg/Wrench', { force: { x: 1 } }],
  ['a LaserScan (declared not to actuate)', '/scan', 'sensor_msgs/msg/LaserScan', { ranges: [1] }],
];

/** What a door made of a command: not sent, sent as it was, or sent rewritten (its fields as the robot gets them). */
type Outcome = { sent: false } | { sent: true; fields: unknown };

/** The guard's decision as an outcome, the fields read back through the codec as a door's bytes are. */
function expected(decision: PolicyDecision<unknown>, type: string, fields: object): Outcome {
  if (decision.action === 'deny') return { sent: false };
  const out = decision.action === 'rewrite' ? (decision.value as { fields: object }).fields : fields;
  return { sent: true, fields: ctx.codec.decode(type, ctx.codec.encode(type, out)) };
}

const CALL = {
  intent: { intent_id: 'i', type: 'publish', params: {}, policy_ctx: { actor: 't', source: 'cli' }, targets: [] },
  tool: 'publish',
  callIndex: 1,
} as unknown as ToolCallContext;

/**
 * The doors, each as a user reaches it. The hook chain is the agent's skills and intents, MCP, central's intents,
 * a Foxglove client and `topic pub` (they share it); the bus door to the robot takes `bag play` and a relay from
 * another graph (sources the hooks never saw).
 */
const DOORS: [string, (topic: string, type: string, fields: object, latched: () => string | undefined) => Outcome][] = [
  [
    'the hook chain (agent, MCP, Foxglove, topic pub, central)',
    (topic, type, fields, latched) => {
      const hooks = policyHooks(SETTINGS, { latched, joints: () => JOINTS });
      const outcome = runPolicyChain<unknown>(hooks, { topic, type, fields }, (hook, value) =>
        hook.beforeToolCall?.(CALL, value),
      );
      if (outcome instanceof Promise) throw new Error('the chain must decide at once');
      if (!outcome.allowed) return { sent: false };
      const out = (outcome.value as { fields: object }).fields;
      return { sent: true, fields: ctx.codec.decode(type, ctx.codec.encode(type, out)) };
    },
  ],
  ...['bag-play', 'zenoh'].map(
    (source) =>
      [
        `the bus door to the robot, from ${source}`,
        (topic: string, type: string, fields: object, latched: () => string | undefined): Outcome => {
          const guard = new MotionGuard(SETTINGS.motion, { latched, joints: () => JOINTS });
          const door = commandGuard({ topic, type, codec: ctx.codec, guard, counters: { clamped: 0, held: 0 } });
          const bytes = ctx.codec.encode(type, fields);
          const out = door ? door(bytes, source) : bytes;
          return out === undefined ? { sent: false } : { sent: true, fields: ctx.codec.decode(type, out) };
        },
      ] as [string, (topic: string, type: string, fields: object, latched: () => string | undefined) => Outcome],
  ),
];

describe('the motion guard, at every door', () => {
  for (const latchedNow of [true, false])
    it.each(COMMANDS)(
      `${latchedNow ? 'latched' : 'released'}: %s on %s (%s) gets the guard's decision at every door`,
      (_what, topic, type, fields) => {
        ctx = componentContext();
        const latched = () => (latchedNow ? 'the robot is stopped' : undefined);
        const guard = new MotionGuard(SETTINGS.motion, { latched, joints: () => JOINTS });
        const decision = guard.decide('publish', { topic, type, fields });
        const want = expected(decision, type, fields);
        for (const [door, send] of DOORS) expect(send(topic, type, fields, latched), door).toEqual(want);
      },
    );

  it('decides what the stages say: a stop passes while latched, a command topic holds any type, limits clamp', () => {
    ctx = componentContext();
    let now: string | undefined = 'the robot is stopped';
    const guard = new MotionGuard(SETTINGS.motion, { latched: () => now, joints: () => JOINTS });
    const publish = (topic: string, type: string, fields: object) => guard.decide('publish', { topic, type, fields });
    expect(publish('/base/cmd_vel', 'geometry_msgs/msg/Twist', {})).toEqual({ action: 'allow' });
    expect(publish('/scan', 'sensor_msgs/msg/LaserScan', { ranges: [1] })).toEqual({ action: 'allow' });
    expect(publish('/servo/command', 'std_msgs/msg/Float64', { data: 0 })).toMatchObject({
      action: 'deny',
      rule: 'stop_latch',
      reason:
        'the robot is stopped (a std_msgs/msg/Float64 on a command topic (motion.non_actuating does not declare it), on /servo/command)',
    });
    now = undefined;
    expect(publish('/base/cmd_vel', 'geometry_msgs/msg/Twist', { linear: { x: 3 } })).toMatchObject({
      action: 'rewrite',
      rule: 'velocity.limit',
      value: { fields: { linear: { x: 0.5 } } },
    });
    expect(
      publish('/arm/joint_trajectory', 'trajectory_msgs/msg/JointTrajectory', {
        joint_names: ['j'],
        points: [{ positions: [Number.NaN], time_from_start: STEP }],
      }),
    ).toMatchObject({ action: 'rewrite', rule: 'joints.limit' });
  });

  it('judges an action goal the same at every goal door: the latch, an arm goal past its joints, the geofence', () => {
    const fenced = hookSettings({
      ...{ joints: SETTINGS.motion.joints },
      geofence: {
        polygon: [
          { x: -1, y: -1 },
          { x: 1, y: -1 },
          { x: 1, y: 1 },
          { x: -1, y: 1 },
        ],
      },
    });
    let now: string | undefined;
    const guard = new MotionGuard(fenced.motion, { latched: () => now, joints: () => JOINTS });
    const follow = (position: number) => ({
      trajectory: { joint_names: ['j'], points: [{ positions: [position], time_from_start: STEP }] },
    });
    const FOLLOW = 'control_msgs/action/FollowJointTrajectory';
    const GRIPPER = 'control_msgs/action/GripperCommand';
    const NAV = 'nav2_msgs/action/NavigateToPose';
    const far = { pose: { pose: { position: { x: 5, y: 0 } } } };
    const hooks = policyHooks({ ...fenced, rules: SETTINGS.rules }, { latched: () => now, joints: () => JOINTS });
    const callAction = { ...CALL, tool: 'call_action' } as ToolCallContext;
    const viaHooks = (type: string, goal: object) => {
      const outcome = runPolicyChain<unknown>(hooks, { name: '/a', type, goal }, (hook, value) =>
        hook.beforeToolCall?.(callAction, value),
      );
      return 'allowed' in outcome && !outcome.allowed ? outcome.reason : undefined;
    };
    const cases: [string, object, string | undefined][] = [
      [FOLLOW, follow(0.1), undefined],
      [FOLLOW, follow(0.9), 'joints.goal'],
      [GRIPPER, { command: { position: 0.5 } }, 'joints.goal'],
      [GRIPPER, { command: { position: 0.02 } }, undefined],
      [NAV, far, 'geofence'],
    ];
    for (const [type, goal, rule] of cases) {
      const refused = guard.goalRefusal(type, goal);
      expect(refused?.rule, `${type} ${JSON.stringify(goal)}`).toBe(rule);
      expect(viaHooks(type, goal)).toBe(refused && `${refused.rule}: ${refused.reason}`);
    }
    now = 'the robot is stopped';
    for (const [type, goal] of cases) {
      expect(guard.goalRefusal(type, goal)?.rule).toBe('stop_latch');
      expect(viaHooks(type, goal)).toMatch(/^stop_latch: the robot is stopped/);
    }
  });
});
