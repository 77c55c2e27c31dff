/** An axis-aligned box in metres, map frame. */
export type Rect = { x0: number; y0: number; x1: number; y1: number };

/** Euclidean distance from a point to a box; 0 inside it. */
export function distanceToRect(x: number, y: number, r: Rect): number {
  const dx = x < r.x0 ? r.x0 - x : x > r.x1 ? x - r.x1 : 0;
  const dy = y < r.y0 ? r.y0 - y : y > r.y1 ? y - r.y1 : 0;
  return Math.hypot(dx, dy);
}

/** Which pair of a box's faces a ray entered it through: the x faces (x0, x1) or the y faces (y0, y1). */
export type RayHit = { axis: 'x' | 'y' };

/**
 * Where the ray o + t d first meets a box (slab test), as t: in metres for a unit d, in multiples of d otherwise.
 * 0 when the origin is inside it, Infinity on a miss. `hit`, when given, is set to the faces the ray entered by
 * whenever the result is finite (a scratch object, so a caller in a hot loop allocates nothing).
 */
export function rayBox(ox: number, oy: number, dx: number, dy: number, r: Rect, hit?: RayHit): number {
  let tNear = -Infinity;
  let tFar = Infinity;
  let axis: RayHit['axis'] = 'y';
  if (dx !== 0) {
    const a = (r.x0 - ox) / dx;
    const b = (r.x1 - ox) / dx;
    tNear = Math.min(a, b);
    tFar = Math.max(a, b);
    axis = 'x';
  } else if (ox < r.x0 || ox > r.x1) {
    return Infinity;
  }
  if (dy !== 0) {
    const a = (r.y0 - oy) / dy;
    const b = (r.y1 - oy) / dy;
    const near = Math.min(a, b);
    if (near > tNear) {
      tNear = near;
      axis = 'y';
    }
    tFar = Math.min(tFar, Math.max(a, b));
  } else if (oy < r.y0 || oy > r.y1) {
    return Infinity;
  }
  if (tNear > tFar || tFar < 0) return Infinity;
  if (hit) hit.axis = axis;
  return Math.max(tNear, 0);
}
