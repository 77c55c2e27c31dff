import { OCCUPIED, type Grid } from '../../daemon/navigation/index.ts';
import type { Maze } from './maze.ts';

export type { Grid } from '../../daemon/navigation/index.ts';

/**
 * The maze as a nav_msgs/OccupancyGrid: origin at the map's (0, 0), row 0 at the bottom, 0 free and 100
 * occupied (the sim knows every cell, so nothing is -1). A cell is occupied when a wall overlaps it by more
 * than a rounding error, so walls on multiples of the resolution fill whole cells and no more.
 */
export function rasterize(maze: Maze, resolution = 0.05): Grid {
  if (!(resolution > 0)) throw new RangeError(`grid resolution must be > 0 m, got ${resolution}`);
  // The epsilon keeps 8.1 / 0.05 = 161.99999999999997 from becoming 163 cells after ceil.
  const eps = 1e-6;
  const width = Math.ceil(maze.width / resolution - eps);
  const height = Math.ceil(maze.height / resolution - eps);
  const data = new Int8Array(width * height);
  for (const w of maze.walls) {
    const c0 = Math.max(0, Math.floor(w.x0 / resolution + eps));
    const c1 = Math.min(width, Math.ceil(w.x1 / resolution - eps));
    const r0 = Math.max(0, Math.floor(w.y0 / resolution + eps));
    const r1 = Math.min(height, Math.ceil(w.y1 / resolution - eps));
    for (let r = r0; r < r1; r++) data.fill(OCCUPIED, r * width + c0, r * width + c1);
  }
  return { width, height, resolution, origin: { x: 0, y: 0 }, data };
}
