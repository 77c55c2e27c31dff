import { insidePolygon, positionsIn } from '../../daemon/policy/index.ts';

/**
 * Why a goal from a ROS client may not go out: a position in it (a Nav2 PoseStamped, waypoints) lies outside
 * policy.geofence.polygon, as the daemon's own goals are held to it. Undefined inside, or with no fence.
 */
export function outsideFence(
  polygon: readonly { x: number; y: number }[],
  goal: Record<string, unknown>,
): string | undefined {
  if (polygon.length < 3) return undefined;
  const outside = positionsIn(goal).find((p) => !insidePolygon(p, polygon));
  return outside && `goal position (${outside.x}, ${outside.y}) is outside the geofence (policy.geofence.polygon)`;
}
