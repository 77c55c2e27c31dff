/** An axis-aligned box in metres, map frame. */
export type Rect = { x0: number; y0: number; x1: number; y1: number };

/** Euclidean distance from a point to a box; 0 inside it. */
export function distanceToRect(x: number, y: number, r: Rect): number {
  const dx = x < r.x0 ? r.x0 - x : x > r.x1 ? x - r.x1 : 0;
  const dy = y < r.y0 ? r.y0 - y : y > r.y1 ? y - r.y1 : 0;
  return Math.hypot(dx, dy);
}
