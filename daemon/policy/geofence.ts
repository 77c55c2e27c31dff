import type { PolicyHook } from '../contract/index.ts';
import { field } from './tool-inputs.ts';
import { ALLOW } from './chain.ts';

type Point = { x: number; y: number };

/** Even-odd ray casting; points on an edge count as inside. */
export function insidePolygon(p: Point, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (onSegment(p, a, b)) return true;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

function onSegment(p: Point, a: Point, b: Point): boolean {
  const cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
  if (Math.abs(cross) > 1e-9) return false;
  return (
    p.x >= Math.min(a.x, b.x) - 1e-9 &&
    p.x <= Math.max(a.x, b.x) + 1e-9 &&
    p.y >= Math.min(a.y, b.y) - 1e-9 &&
    p.y <= Math.max(a.y, b.y) + 1e-9
  );
}

/**
 * navigate_to goals must lie in the geofence polygon (none configured: no fence), and so must every position in a
 * call_action goal (a Nav2 PoseStamped, MoveIt's target poses, a list of waypoints): whatever the action, a point
 * outside the fence is refused before the goal is sent.
 */
export function geofenceHook(polygon: readonly Point[]): PolicyHook {
  return {
    name: 'geofence',
    beforeToolCall(ctx, input) {
      if (polygon.length < 3) return ALLOW;
      let goals: Point[];
      if (ctx.tool === 'navigate_to')
        goals = [{ x: field<number>(input, 'x') ?? NaN, y: field<number>(input, 'y') ?? NaN }];
      else if (ctx.tool === 'call_action') goals = positionsIn(field<unknown>(input, 'goal'));
      else return ALLOW;
      const outside = goals.find((goal) => !insidePolygon(goal, polygon));
      if (outside === undefined) return ALLOW;
      return {
        action: 'deny',
        rule: 'geofence',
        reason: `goal (${outside.x}, ${outside.y}) is outside the geofence (policy.geofence.polygon)`,
      };
    },
  };
}

/**
 * Why an action goal may not be sent: the first position in it outside the fence (none configured: no fence), for
 * every goal the daemon sends or serves whoever asked (the API's send_goal, a ROS client's goal to a served action).
 */
export function goalOutsideFence(polygon: readonly Point[], goal: unknown): string | undefined {
  if (polygon.length < 3) return undefined;
  const outside = positionsIn(goal).find((p) => !insidePolygon(p, polygon));
  return outside && `goal position (${outside.x}, ${outside.y}) is outside the geofence (policy.geofence.polygon)`;
}

/** Every `position: {x, y}` (geometry_msgs/Point of a Pose) in a goal, however deep; at most 10,000 looked at. */
export function positionsIn(goal: unknown): Point[] {
  const found: Point[] = [];
  const stack: unknown[] = [goal];
  for (let seen = 0; stack.length > 0 && seen < 10_000; seen++) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      stack.push(...value);
      continue;
    }
    const record = value as Record<string, unknown>;
    const position = record.position as { x?: unknown; y?: unknown } | undefined;
    if (position !== null && typeof position === 'object') {
      // A position that is not two numbers is no point inside the fence: NaN is outside every polygon.
      const x = typeof position.x === 'number' ? position.x : NaN;
      const y = typeof position.y === 'number' ? position.y : NaN;
      found.push({ x, y });
    }
    for (const [key, v] of Object.entries(record)) if (key !== 'position') stack.push(v);
  }
  return found;
}
