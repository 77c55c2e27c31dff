import { describe, expect, it } from 'vitest';
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
});
