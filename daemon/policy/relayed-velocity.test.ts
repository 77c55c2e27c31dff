import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { relayedVelocityGuard } from './relayed-velocity.ts';

const TWIST = 'geometry_msgs/msg/Twist';
const STAMPED = 'geometry_msgs/msg/TwistStamped';
let ctx: TestContext | undefined;
const limits = (context: TestContext) => ({
  ...context.config.policy.velocity,
  topic: '/cmd_vel',
  topics: ['/**/cmd_vel'],
  max_linear_x: 0.5,
  max_angular_z: 1,
});
afterEach(() => ctx?.bus.close());

describe('a velocity command relayed from another graph', () => {
  function guarded(type: string, latched: () => string | undefined = () => undefined, topic = '/cmd_vel') {
    ctx = componentContext();
    const counters = { clamped: 0, held: 0 };
    const guard = relayedVelocityGuard({ topic, type, codec: ctx.codec, limits: limits(ctx), latched, counters });
    return { guard: guard!, counters, codec: ctx.codec };
  }

  it('passes a command within limits as its own bytes, clamps one over them', () => {
    const { guard, counters, codec } = guarded(TWIST);
    const within = codec.encode(TWIST, { linear: { x: 0.25 }, angular: { z: -0.5 } });
    expect(guard(within)).toBe(within);
    const over = guard(codec.encode(TWIST, { linear: { x: 4, y: 1 }, angular: { z: -9 } }));
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
    expect(codec.decode(STAMPED, guard(moving))).toMatchObject({
      header: { stamp: { sec: 7, nanosec: 9 }, frame_id: 'base' },
      twist: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } },
    });
    expect(counters.held).toBe(1);
    latch = undefined;
    expect(guard(moving)).toBe(moving);
  });

  it('sends zero for bytes it cannot read: garbage must not pass the frame', () => {
    const { guard, counters, codec } = guarded(TWIST);
    const out = guard(new Uint8Array([0, 1, 0, 0, 0xff]));
    expect(codec.decode(TWIST, out)).toEqual({ linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
    expect(counters.held).toBe(1);
  });

  it('leaves other types and topics the limits do not govern alone', () => {
    ctx = componentContext();
    const counters = { clamped: 0, held: 0 };
    const of = (topic: string, type: string) =>
      relayedVelocityGuard({
        topic,
        type,
        codec: ctx!.codec,
        limits: limits(ctx!),
        latched: () => 'latched',
        counters,
      });
    expect(of('/chatter', TWIST)).toBeUndefined();
    expect(of('/cmd_vel', 'std_msgs/msg/String')).toBeUndefined();
    expect(of('/robot2/cmd_vel', TWIST)).toBeDefined();
  });
});
