import type { Grid } from './grid.ts';
import { OCCUPIED } from './grid.ts';

/** Cells at or above this value, and unknown (-1) cells, are obstacles: unknown space is not driven into. */
export const LETHAL_THRESHOLD = 50;

export function isLethal(value: number): boolean {
  return value < 0 || value >= LETHAL_THRESHOLD;
}

/**
 * Clearance of every cell: metres from the cell centre to the nearest obstacle cell's edge (0 on an
 * obstacle, Infinity when the grid has none). Exact Euclidean distance transform (Felzenszwalb and
 * Huttenlocher), less half a cell diagonal so the figure never overstates the room there is.
 */
export function clearanceField(grid: Grid): Float32Array {
  const { width, height, resolution, data } = grid;
  const big = (width + height) ** 2;
  const d2 = new Float64Array(width * height);
  for (let i = 0; i < d2.length; i++) d2[i] = isLethal(data[i]!) ? 0 : big;
  const line = new Float64Array(Math.max(width, height));
  const out = new Float64Array(Math.max(width, height));
  const v = new Int32Array(Math.max(width, height));
  const z = new Float64Array(Math.max(width, height) + 1);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) line[c] = d2[r * width + c]!;
    edt1d(line, width, out, v, z);
    for (let c = 0; c < width; c++) d2[r * width + c] = out[c]!;
  }
  for (let c = 0; c < width; c++) {
    for (let r = 0; r < height; r++) line[r] = d2[r * width + c]!;
    edt1d(line, height, out, v, z);
    for (let r = 0; r < height; r++) d2[r * width + c] = out[r]!;
  }
  const halfDiagonal = (resolution * Math.SQRT2) / 2;
  const clearance = new Float32Array(width * height);
  for (let i = 0; i < d2.length; i++) {
    const d = d2[i]!;
    clearance[i] = d === 0 ? 0 : d >= big ? Infinity : Math.max(0, Math.sqrt(d) * resolution - halfDiagonal);
  }
  return clearance;
}

/** 1D squared distance transform of f (0 at obstacles, large elsewhere) into out. */
function edt1d(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    // z[0] is -Infinity, so this never walks below k = 0.
    let s = parabolaCrossing(f, q, v[k]!);
    while (s <= z[k]!) s = parabolaCrossing(f, q, v[--k]!);
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    out[q] = (q - p) * (q - p) + f[p]!;
  }
}

function parabolaCrossing(f: Float64Array, q: number, p: number): number {
  return (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
}

/**
 * The grid with every cell closer than radiusM to an obstacle marked occupied: where the robot's centre
 * may go when its footprint is a circle of that radius. Publish it as a costmap, plan on it.
 */
export function inflate(grid: Grid, radiusM: number, clearance = clearanceField(grid)): Grid {
  if (!(radiusM >= 0)) throw new RangeError(`inflation radius must be >= 0 m, got ${radiusM}`);
  const data = new Int8Array(grid.data.length);
  for (let i = 0; i < data.length; i++) {
    data[i] = isLethal(grid.data[i]!) ? grid.data[i]! : clearance[i]! < radiusM ? OCCUPIED : grid.data[i]!;
  }
  return { width: grid.width, height: grid.height, resolution: grid.resolution, origin: { ...grid.origin }, data };
}
