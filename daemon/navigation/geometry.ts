/** A point in the map frame, metres. */
export type Point2D = { x: number; y: number };

/** A planar pose in the map frame: metres and radians (yaw counter-clockwise from +x). */
export type Pose2D = { x: number; y: number; yaw: number };

/** Wraps an angle to (-π, π]. */
export function normalizeAngle(angle: number): number {
  let a = angle % (2 * Math.PI);
  if (a > Math.PI) a -= 2 * Math.PI;
  else if (a <= -Math.PI) a += 2 * Math.PI;
  return a;
}

/** "(1.50, 2.00)": how points appear in messages meant for people. */
export function formatPoint(p: Point2D): string {
  return `(${p.x.toFixed(2)}, ${p.y.toFixed(2)})`;
}
