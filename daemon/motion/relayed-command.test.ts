import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { relayedCommandGuard, type RelayedVelocityCounters } from './relayed-command.ts';

const TWIST = 'geometry_msgs/msg/Twist';
const STAMPED = 'geometry_msgs/msg/TwistStamped';
let ctx: TestContext | undefined;
const limits = (context: TestContext) => ({
  ...context.config.motion.velocity,
  topic: '/cmd_vel',
  topics: ['/**/cmd_vel'],
  max_linear_x: 0.5,
  max_angular_z: 1,
});
afterEach(() => ctx?.bus.close());

describe('a velocity command relayed from another graph', () => {
  function guarded(type: string, latched: () => string | undefined = () => undefined, topic = '/cmd_vel') {
    ctx = componentContext();
    const counters: RelayedVelocityCounters = { clamped: 0, held: 0 };
    const guard = relayedCommandGuard({ topic, type, codec: ctx.codec, limits: limits(ctx), latched, counters });
    return { guard: guard!, counters, codec: ctx.codec };
  }

  it('passes a command within limits as its own bytes, clamps one over them', () => {
    const { guard, counters, codec } = guarded(TWIST);
    const within = codec.encode(TWIST, { linear: { x: 0.25 }, angular: { z: -0.5 } });
    expect(guard(within)).toBe(within);
    const over = guard(codec.encode(TWIST, { linear: { x: 4, y: 1 }, angular: { z: -9 } }))!;
    expect(codec.decode(TWIST, over)).toEqual({ linear: { x: 0.5, y: 0, z: 0 }, angular: { x: 0, y: 0, z: -1 } });
    expect(counters).toEqual({ clamped: 1, held: 0 });
  });

  it('sends zero while the stop is latched, the stamp of a TwistStamped kept', () => {
    let latch: string | undefined = 'latched by the operator';
    const { guard, counters, codec } = guarded(STAMPED, () => latch);
    const moving = codec.encode(STAMPED, {
      header: { stamp: { sec: 7, nanosec: 9 }, frame_id: 'base' },
      twist: { linear: { x: 0.1 } },
    });
    expect(codec.decode(STAMPED, guard(moving)!)).toMatchObject({
      header: { stamp: { sec: 7, nanosec: 9 }, frame_id: 'base' },
      twist: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } },
    });
    expect(counters.held).toBe(1);
    latch = undefined;
    expect(guard(moving)).toBe(moving);
  });

  it('sends zero for bytes it cannot read: garbage must not pass the frame', () => {
    const { guard, counters, codec } = guarded(TWIST);
    const out = guard(new Uint8Array([0, 1, 0, 0, 0xff]))!;
    expect(codec.decode(TWIST, out)).toEqual({ linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
    expect(counters.held).toBe(1);
  });

  it('leaves types that never actuate alone; a Twist on a topic no glob governs passes unless latched', () => {
    ctx = componentContext();
    const counters: RelayedVelocityCounters = { clamped: 0, held: 0 };
    let latch: string | undefined;
    const of = (topic: string, type: string) =>
      relayedCommandGuard({ topic, type, codec: ctx!.codec, limits: limits(ctx!), latched: () => latch, counters });
    expect(of('/cmd_vel', 'std_msgs/msg/String')).toBeUndefined();
    expect(of('/joint_states', 'sensor_msgs/msg/JointState')).toBeUndefined();
    const chatter = of('/chatter', TWIST)!;
    const moving = ctx.codec.encode(TWIST, { linear: { x: 4 } });
    expect(chatter(moving)).toBe(moving);
    latch = 'latched';
    expect(chatter(moving)).toBeUndefined();
    const zero = ctx.codec.encode(TWIST, {});
    expect(chatter(zero)).toBe(zero);
    expect(counters).toEqual({
      clamped: 0,
      held: 1,
      lastHeld: 'latched (a geometry_msgs/msg/Twist that moves, on /chatter)',
    });
  });
});

describe('an arm command relayed from another graph', () => {
  const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';

  it('is not sent while the stop is latched (nor is one it cannot read); a hold with no points is', () => {
    ctx = componentContext();
    const counters: RelayedVelocityCounters = { clamped: 0, held: 0 };
    let latch: string | undefined = 'latched';
    const guard = relayedCommandGuard({
      topic: '/arm_controller/joint_trajectory',
      type: TRAJECTORY,
      codec: ctx.codec,
      limits: limits(ctx),
      latched: () => latch,
      counters,
    })!;
    const far = ctx.codec.encode(TRAJECTORY, { joint_names: ['a'], points: [{ positions: [3] }] });
    expect(guard(far)).toBeUndefined();
    expect(counters.lastHeld).toBe(
      'latched (a trajectory_msgs/msg/JointTrajectory with points, on /arm_controller/joint_trajectory)',
    );
    expect(guard(new Uint8Array([0, 1, 0, 0, 0xff]))).toBeUndefined();
    const hold = ctx.codec.encode(TRAJECTORY, { joint_names: ['a'] });
    expect(guard(hold)).toBe(hold);
    expect(counters).toMatchObject({ clamped: 0, held: 2 });
    expect(counters.lastHeld).toMatch(/^latched \(a trajectory_msgs\/msg\/JointTrajectory the frame cannot read, on /);
    latch = undefined;
    expect(guard(far)).toBe(far);
  });
});

describe("a forward controller's command relayed from another graph", () => {
  const ARRAY = 'std_msgs/msg/Float64MultiArray';

  it('is held all zeros while the stop is latched, saying why: zeros are a pose to a position controller', () => {
    ctx = componentContext();
    const counters: RelayedVelocityCounters = { clamped: 0, held: 0 };
    let latch: string | undefined = 'latched';
    const guard = relayedCommandGuard({
      topic: '/forward_position_controller/commands',
      type: ARRAY,
      codec: ctx.codec,
      limits: limits(ctx),
      latched: () => latch,
      counters,
    })!;
    const zeros = ctx.codec.encode(ARRAY, { data: [0, 0, 0, 0, 0, 0] });
    expect(guard(zeros)).toBeUndefined();
    expect(counters.held).toBe(1);
    expect(counters.lastHeld).toBe(
      'latched (a std_msgs/msg/Float64MultiArray of all zeros, which a position controller takes as a pose to go to, on /forward_position_controller/commands)',
    );
    latch = undefined;
    expect(guard(zeros)).toBe(zeros);
  });
});
