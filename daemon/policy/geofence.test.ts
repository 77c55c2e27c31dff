import { describe, expect, it } from 'vitest';
import { goalOutsideFence } from './geofence.ts';

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
      'goal position (3, 1) is outside the geofence (policy.geofence.polygon)',
    );
  });

  it('lets every goal through when no fence is configured', () => {
    expect(goalOutsideFence([], { pose: pose(99, 99) })).toBeUndefined();
  });
});
