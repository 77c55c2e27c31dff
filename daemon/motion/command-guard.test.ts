import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import type { JointLimits } from './joint-frame.ts';
import { parseUrdfLimits } from './urdf-limits.ts';
import { commandGuard, type CommandGuardCounters } from './command-guard.ts';
import { MotionGuard } from './guard.ts';
import type { JointInputs } from './joint-limits-hook.ts';

const FLOAT64 = 'std_msgs/msg/Float64';
const INT32S = 'std_msgs/msg/Int32MultiArray';
const TWIST = 'geometry_msgs/msg/Twist';
const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
const SCAN = 'sensor_msgs/msg/LaserScan';

let ctx: TestContext;
afterEach(() => ctx?.bus.close());

const LIMITS: JointLimits = parseUrdfLimits(
  '<robot name="r"><joint name="pan" type="revolute"><limit lower="-1" upper="1" velocity="1"/></joint></robot>',
  'test',
);

function guardOf(topic: string, type: string, latched: { now: string | undefined }, joints?: Partial<JointInputs>) {
  ctx ??= componentContext();
  const counters: CommandGuardCounters = { clamped: 0, held: 0 };
  const motion = {
    ...ctx.config.motion,
    joints: joints && {
      robot_description: '/robot_description',
      state_topic: '/joint_states',
      state_publishers: [],
      clients_may_publish: false,
      max_state_age_ms: 500,
      mode: 'clamp' as const,
      max_step: 0.2,
      limits: {},
      topics: {},
      trajectory_topics: {},
      gripper_joint: 'gripper',
    },
  };
  const inputs = (): JointInputs | undefined =>
    joints && {
      limits: () => LIMITS,
      measured: { topic: '/joint_states', read: (_n, out) => ((out[0] = 0), 1) },
      ...joints,
    };
  const motionGuard = new MotionGuard(motion, { latched: () => latched.now, joints: inputs });
  const guard = commandGuard({ topic, type, codec: ctx.codec, guard: motionGuard, counters });
  return { guard, counters };
}

describe('the frame of a door to the robot', () => {
  it('holds any type on a command topic while the stop is latched, and lets it through once released', () => {
    ctx = componentContext();
    const latch = { now: 'the robot is stopped' as string | undefined };
    for (const [type, fields] of [
      [FLOAT64, { data: 0.4 }],
      [INT32S, { layout: { dim: [], data_offset: 0 }, data: [1, 2] }],
    ] as const) {
      const { guard, counters } = guardOf('/gripper/command', type, latch);
      const bytes = ctx.codec.encode(type, fields);
      expect(guard!(bytes, 'agent')).toBeUndefined();
      expect(counters.held).toBe(1);
      expect(counters.lastHeld).toMatch(/the robot is stopped \(a .* on a command topic/);
      latch.now = undefined;
      expect(guard!(bytes, 'agent')).toBe(bytes);
      latch.now = 'the robot is stopped';
    }
  });

  it("passes a stop and the daemon's own frame while latched, and never guards what does not actuate", () => {
    ctx = componentContext();
    const latch = { now: 'the robot is stopped' as string | undefined };
    const { guard } = guardOf('/cmd_vel', TWIST, latch);
    const zero = ctx.codec.encode(TWIST, {});
    const moving = ctx.codec.encode(TWIST, { linear: { x: 0.1 } });
    expect(guard!(zero, 'bag-play')).toBe(zero);
    expect(guard!(moving, 'bag-play')).toBeUndefined();
    expect(guard!(moving, 'control:drive')).toBe(moving);
    expect(guard!(moving, 'stop')).toBe(moving);
    expect(guardOf('/scan', SCAN, latch).guard).toBeUndefined();
    expect(guardOf('/rosout', 'rcl_interfaces/msg/Log', latch).guard).toBeUndefined();
  });

  it('holds a joint command from bag play or a relay to the joint limits, and leaves what the hooks held', () => {
    ctx = componentContext();
    const latch = { now: undefined as string | undefined };
    const { guard, counters } = guardOf('/arm', TRAJECTORY, latch, {});
    const far = ctx.codec.encode(TRAJECTORY, {
      joint_names: ['pan'],
      points: [{ positions: [0.9], time_from_start: { sec: 0, nanosec: 0 } }],
    });
    const out = guard!(far, 'bag-play');
    expect(out).toBeDefined();
    const held = ctx.codec.decode<{ points: { positions: Float64Array; time_from_start: { nanosec: number } }[] }>(
      TRAJECTORY,
      out!,
    );
    // max_step 0.2 from the measured 0, and the time the URDF's 1 rad/s needs for it.
    expect(held.points[0]!.positions[0]).toBeCloseTo(0.2);
    expect(held.points[0]!.time_from_start.nanosec).toBe(200_000_000);
    expect(counters.limited).toBe(1);
    expect(guard!(far, 'agent')).toBe(far);
  });
});

describe('every door and every actuating type, latched and released', () => {
  /** What moves, by type: a topic of its own, and a message that would move a robot listening there. */
  const TYPES: [string, string, object][] = [
    ['/base/cmd_vel', TWIST, { linear: { x: 0.1 } }],
    ['/base/cmd_vel_stamped', 'geometry_msgs/msg/TwistStamped', { twist: { angular: { z: 0.5 } } }],
    ['/arm/joint_trajectory', TRAJECTORY, { joint_names: ['j'], points: [{ positions: [0.1] }] }],
    ['/arm/forward', 'std_msgs/msg/Float64MultiArray', { layout: { dim: [], data_offset: 0 }, data: [0.1] }],
    ['/servo/command', FLOAT64, { data: 0.4 }],
    ['/gripper/command', INT32S, { layout: { dim: [], data_offset: 0 }, data: [1] }],
    ['/arm/joint_command', 'sensor_msgs/msg/JointState', { name: ['j'], position: [0.1] }],
    ['/base/wrench', 'geometry_msgs/msg/Wrench', { force: { x: 1 } }],
  ];
  /** The doors by the bus source they publish as, and whether the door to the robot passes them while latched. */
  const DOORS: [string, boolean][] = [
    ['agent', false], // intents, a model, MCP, central
    ['foxglove:panel', false], // Foxglove clients, topic pub
    ['bag-play', false],
    ['zenoh', false], // a relay from another graph
    ['control:arm', true], // a loop: its thread sends only its safe action while latched
    ['stop', true], // the stop's own hold
  ];

  it.each(TYPES)('%s (%s): held while latched from every client door, passed once released', (topic, type, fields) => {
    ctx = componentContext();
    const latch = { now: 'the robot is stopped' as string | undefined };
    const { guard, counters } = guardOf(topic, type, latch);
    expect(guard, `${type} must be guarded`).toBeDefined();
    const bytes = ctx.codec.encode(type, fields);
    const decisions = DOORS.map(([source]) => [source, guard!(bytes, source) === bytes]);
    expect(decisions).toEqual(DOORS);
    expect(counters.held).toBe(DOORS.filter(([, passes]) => !passes).length);
    latch.now = undefined;
    for (const [source] of DOORS) expect(guard!(bytes, source), source).toBe(bytes);
  });
});
