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

/** navigate_to goals must lie in the geofence polygon (none configured: no fence). */
export function geofenceHook(polygon: readonly Point[]): PolicyHook {
  return {
    name: 'geofence',
    beforeToolCall(ctx, input) {
      if (ctx.tool !== 'navigate_to' || polygon.length < 3) return ALLOW;
      const goal = { x: field<number>(input, 'x') ?? NaN, y: field<number>(input, 'y') ?? NaN };
      if (insidePolygon(goal, polygon)) return ALLOW;
      return {
        action: 'deny',
        rule: 'geofence',
        reason: `goal (${goal.x}, ${goal.y}) is outside the geofence (policy.geofence.polygon)`,
      };
    },
  };
}
