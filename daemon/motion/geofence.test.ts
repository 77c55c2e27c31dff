import { describe, expect, it } from 'vitest';
import { hookSettings } from '../../test/helpers/hook-settings.ts';
import type { ToolCallContext } from '../contract/policy-hook.ts';
import { geofenceHook, goalOutsideFence, type RobotPose } from './geofence.ts';

const FENCE = [
  { x: 0, y: 0 },
  { x: 2, y: 0 },
  { x: 2, y: 2 },
  { x: 0, y: 2 },
];
const pose = (x: number, y: number) => ({ header: { frame_id: 'map' }, pose: { position: { x, y, z: 0 } } });

describe("a ROS client's goal against the geofence", () => {
  it('names the first position outside the fence, however deep, and lets one inside through', () => {
    expect(goalOutsideFence(FENCE, { pose: pose(1, 1) })).toBeUndefined();
    expect(goalOutsideFence(FENCE, { poses: [pose(1, 1), pose(3, 1)] })).toBe(
      'goal position (3, 1) is outside the geofence (motion.geofence.polygon)',
    );
  });

  it('lets every goal through when no fence is configured', () => {
    expect(goalOutsideFence([], { pose: pose(99, 99) })).toBeUndefined();
  });
});

describe('a velocity command against the geofence', () => {
  const settings = hookSettings({ geofence: { polygon: FENCE } }).motion;
  const twist = (x: number, z = 0) => ({ topic: '/cmd_vel', fields: { linear: { x }, angular: { z } } });
  const at = (x: number, y: number, yaw = 0, ageMs = 10): RobotPose => ({ x, y, yaw, ageMs });
  const call = (pose: RobotPose | undefined, input: unknown) => {
    const hook = geofenceHook(settings.geofence, { limits: settings.velocity, pose: () => pose });
    return hook.beforeToolCall!({ tool: 'publish' } as ToolCallContext, input);
  };

  it('holds to zero a Twist that would carry the robot out within the horizon, and lets one that stays in through', () => {
    expect(call(at(1.8, 1), twist(0.22))).toMatchObject({
      action: 'rewrite',
      rule: 'geofence.velocity',
      reason: expect.stringMatching(
        /^held to zero on \/cmd_vel: from \(1\.80, 1\.00\) it would leave the fence within 1 s/,
      ),
      value: { topic: '/cmd_vel', fields: { linear: { x: 0 }, angular: { z: 0 } } },
    });
    expect(call(at(1.8, 1), twist(-0.22))).toEqual({ action: 'allow' });
    expect(call(at(1, 1), twist(0.22))).toEqual({ action: 'allow' });
    // Facing +y: forward is towards y = 2.
    expect(call(at(1, 1.9, Math.PI / 2), twist(0.22))).toMatchObject({ action: 'rewrite' });
  });

  it('follows an arc, not a line: a turn that swings the robot out is held', () => {
    // Facing +x at (1.5, 1.85): 0.3 m straight ahead stays in; turning left at 2.84 rad/s sweeps it past y = 2.
    expect(call(at(1.5, 1.85), twist(0.3))).toEqual({ action: 'allow' });
    expect(call(at(1.5, 1.85), twist(0.3, 2.84))).toMatchObject({ action: 'rewrite' });
    expect(call(at(1.5, 1.85), twist(0.3, -2.84))).toEqual({ action: 'allow' });
  });

  it('lets a robot outside turn in place or head back, and holds it going further out', () => {
    expect(call(at(2.5, 1), twist(-0.22))).toEqual({ action: 'allow' });
    expect(call(at(2.5, 1), twist(0, 1))).toEqual({ action: 'allow' });
    expect(call(at(2.5, 1), twist(0.22))).toMatchObject({
      action: 'rewrite',
      reason: expect.stringContaining('0.50 m outside the fence, it would go further out (0.72 m in 1 s)'),
    });
  });

  it('holds a moving command when the pose is unknown or stale, or belongs to another robot; a zero Twist passes', () => {
    expect(call(undefined, twist(-0.1))).toMatchObject({ reason: expect.stringContaining('no pose was read yet') });
    expect(call(at(1, 1, 0, 5000), twist(-0.1))).toMatchObject({
      reason: expect.stringContaining('the last pose is 5000 ms old (max_pose_age_ms 1000)'),
    });
    expect(call(at(1, 1), { topic: '/robot2/cmd_vel', fields: { linear: { x: 0.1 } } })).toMatchObject({
      action: 'rewrite',
      reason: expect.stringContaining('knows the pose of the robot on /cmd_vel only'),
    });
    expect(call(undefined, twist(0))).toEqual({ action: 'allow' });
    expect(call(undefined, { topic: '/chatter', fields: { data: 'x' } })).toEqual({ action: 'allow' });
  });

  it('holds a TwistStamped by its twist, keeping its header', () => {
    const stamped = {
      topic: '/cmd_vel',
      type: 'geometry_msgs/msg/TwistStamped',
      fields: { header: { frame_id: 'base_link' }, twist: { linear: { x: 0.22 } } },
    };
    expect(call(at(1.8, 1), stamped)).toMatchObject({
      action: 'rewrite',
      value: { fields: { header: { frame_id: 'base_link' }, twist: { linear: { x: 0 } } } },
    });
  });

  it('checks nothing with no fence configured', () => {
    const open = hookSettings().motion;
    const hook = geofenceHook(open.geofence, { limits: open.velocity, pose: () => undefined });
    expect(hook.beforeToolCall!({ tool: 'publish' } as ToolCallContext, twist(5))).toEqual({ action: 'allow' });
  });
});
