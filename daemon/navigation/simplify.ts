import type { Point2D } from './geometry.ts';

/**
 * Ramer-Douglas-Peucker over a grid path, with one more condition: a segment may replace the points it
 * skips only if `clear(a, b)` says the robot fits all along it, so shortcuts never clip an obstacle.
 */
export function simplifyPath(
  points: readonly Point2D[],
  tolerance: number,
  clear: (a: Point2D, b: Point2D) => boolean,
): Point2D[] {
  if (points.length <= 2) return [...points];
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const stack: [number, number][] = [[0, points.length - 1]];
  while (stack.length > 0) {
    const [i, j] = stack.pop()!;
    if (j - i < 2) continue;
    let worst = i + 1;
    let worstDistance = -1;
    for (let k = i + 1; k < j; k++) {
      const d = distanceToSegment(points[k]!, points[i]!, points[j]!);
      if (d > worstDistance) {
        worstDistance = d;
        worst = k;
      }
    }
    if (worstDistance <= tolerance && clear(points[i]!, points[j]!)) continue;
    keep[worst] = 1;
    stack.push([i, worst], [worst, j]);
  }
  return points.filter((_, k) => keep[k] === 1);
}

function distanceToSegment(p: Point2D, a: Point2D, b: Point2D): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}
