import type { Point2D, Pose2D } from './geometry.ts';
import { cellOf, OCCUPIED, type Grid } from './grid.ts';
import type { FollowerScan } from './path-follower.ts';

/**
 * Adds to `cells` the grid cells (flat indices) where the scan, taken at `pose`, hits something: what the
 * lidar sees that the map may not show. Beams with no return (±Infinity, NaN) mark nothing; neither do
 * hits off the grid. `scanOrigin` is where the scan frame sits on base_link.
 */
export function markScanHits(
  grid: Grid,
  pose: Pose2D,
  scan: FollowerScan,
  scanOrigin: Point2D,
  cells: Set<number>,
): void {
  const cos = Math.cos(pose.yaw);
  const sin = Math.sin(pose.yaw);
  for (let i = 0; i < scan.ranges.length; i++) {
    const r = scan.ranges[i]!;
    if (!Number.isFinite(r) || r <= 0) continue;
    const a = scan.angleMin + i * scan.angleIncrement;
    const bx = scanOrigin.x + r * Math.cos(a);
    const by = scanOrigin.y + r * Math.sin(a);
    const cell = cellOf(grid, { x: pose.x + cos * bx - sin * by, y: pose.y + sin * bx + cos * by });
    if (cell) cells.add(cell.row * grid.width + cell.col);
  }
}

/** A copy of the grid with the given cells marked occupied. */
export function withObstacles(grid: Grid, cells: ReadonlySet<number>): Grid {
  const data = grid.data.slice();
  for (const i of cells) data[i] = OCCUPIED;
  return { ...grid, data };
}
