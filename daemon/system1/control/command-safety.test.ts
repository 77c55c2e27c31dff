import { describe, expect, it } from 'vitest';
import { limitTwist } from '../../motion/index.ts';
import { defaultVelocityLimits, velocityFrame } from './command-safety.ts';

const TWIST = 'geometry_msgs/msg/Twist';
const fast = { linear: { x: 5, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 10 } };

describe('velocityFrame', () => {
  it("holds a loop's Twist on any velocity topic to the limits, a namespaced one included, and leaves other topics alone", () => {
    const limits = defaultVelocityLimits();
    for (const topic of ['/cmd_vel', '/robot1/cmd_vel']) {
      const frame = velocityFrame({ topic, type: TWIST }, limits);
      expect(frame, topic).toBeDefined();
      const { twist, clamped } = frame!(fast);
      expect(clamped).toBe(true);
      expect(Math.abs(twist.linear.x)).toBe(limits.max_linear_x);
      expect(Math.abs(twist.angular.z)).toBe(limits.max_angular_z);
    }
    expect(velocityFrame({ topic: '/arm/twist', type: TWIST }, limits)).toBeUndefined();
    expect(velocityFrame({ topic: '/cmd_vel', type: 'std_msgs/msg/Float64MultiArray' }, limits)).toBeUndefined();
  });

  it('frames as limitTwist does, whatever the values, and says clamped exactly when it changed one', () => {
    const limits = { ...defaultVelocityLimits(), max_linear_y: 0.2 };
    const frame = velocityFrame({ topic: '/cmd_vel', type: TWIST }, limits)!;
    const values = [0, -0, 0.1, -0.1, 0.5, -0.5, 3, -3, Number.NaN, Infinity, -Infinity];
    for (const v of values)
      for (const w of values) {
        const given = { linear: { x: v, y: w, z: v }, angular: { x: w, y: v, z: w } };
        const expected = limitTwist(given, limits);
        const { twist, clamped } = frame(given);
        expect({ twist, clamped }, `${v} ${w}`).toEqual({ twist: expected.twist, clamped: expected.broken.length > 0 });
      }
  });
});
