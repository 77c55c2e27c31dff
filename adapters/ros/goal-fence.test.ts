import { describe, expect, it } from 'vitest';
import { outsideFence } from './goal-fence.ts';

const FENCE = [
  { x: 0, y: 0 },
  { x: 2, y: 0 },
  { x: 2, y: 2 },
  { x: 0, y: 2 },
];
const pose = (x: number, y: number) => ({ header: { frame_id: 'map' }, pose: { position: { x, y, z: 0 } } });

describe("a ROS client's goal against the geofence", () => {
  it('names the first position outside the fence, however deep, and lets one inside through', () => {
    expect(outsideFence(FENCE, { pose: pose(1, 1) })).toBeUndefined();
    expect(outsideFence(FENCE, { poses: [pose(1, 1), pose(3, 1)] })).toBe(
      'goal position (3, 1) is outside the geofence (policy.geofence.polygon)',
    );
  });

  it('lets every goal through when no fence is configured', () => {
    expect(outsideFence([], { pose: pose(99, 99) })).toBeUndefined();
  });
});
