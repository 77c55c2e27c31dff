import type { Point2D } from './geometry.ts';

/**
 * An occupancy grid in exactly the nav_msgs/OccupancyGrid layout: row-major, row 0 at origin.y, column 0
 * at origin.x, each cell `resolution` metres square; 0 free, 100 occupied, -1 unknown.
 */
export type Grid = {
  width: number;
  height: number;
  resolution: number;
  origin: Point2D;
  data: Int8Array;
};

export const FREE = 0;
export const OCCUPIED = 100;
export const UNKNOWN = -1;

/**
 * What makes a grid unusable (no cells, a data length that does not match, a non-positive resolution), or undefined.
 */
export function gridProblem(grid: Grid): string | undefined {
  const { width, height, resolution, origin, data } = grid;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0))
    return `the map is ${width} x ${height} cells`;
  if (data.length !== width * height) return `the map's data has ${data.length} cells, not ${width} x ${height}`;
  if (!(Number.isFinite(resolution) && resolution > 0)) return `the map's resolution is ${resolution} m`;
  if (!(Number.isFinite(origin.x) && Number.isFinite(origin.y)))
    return `the map's origin is (${origin.x}, ${origin.y})`;
  return undefined;
}

/** The cell holding a world point, or undefined when the point is off the grid. */
export function cellOf(grid: Grid, p: Point2D): { col: number; row: number } | undefined {
  const col = Math.floor((p.x - grid.origin.x) / grid.resolution);
  const row = Math.floor((p.y - grid.origin.y) / grid.resolution);
  if (col < 0 || row < 0 || col >= grid.width || row >= grid.height) return undefined;
  return { col, row };
}

/** The world point at the centre of a cell given by its flat index. */
export function cellCentre(grid: Grid, index: number): Point2D {
  const col = index % grid.width;
  const row = (index - col) / grid.width;
  return {
    x: grid.origin.x + (col + 0.5) * grid.resolution,
    y: grid.origin.y + (row + 0.5) * grid.resolution,
  };
}

/** The map's extent in metres, for messages: "0..8.1 x 0..8.1 m". */
export function describeExtent(grid: Grid): string {
  const x1 = grid.origin.x + grid.width * grid.resolution;
  const y1 = grid.origin.y + grid.height * grid.resolution;
  // Rounded through toFixed so 162 * 0.05 reads 8.1, not 8.100000000000001.
  const f = (v: number) => String(Number(v.toFixed(3)));
  return `${f(grid.origin.x)}..${f(x1)} x ${f(grid.origin.y)}..${f(y1)} m`;
}
