import { describe, expect, it } from 'vitest';
import { clearanceField, inflate } from './costmap.ts';
import type { Grid } from './grid.ts';

function emptyGrid(width: number, height: number, resolution = 0.05): Grid {
  return { width, height, resolution, origin: { x: 0, y: 0 }, data: new Int8Array(width * height) };
}

describe('clearanceField', () => {
  it('gives each cell its distance to the nearest obstacle, never overstated', () => {
    const grid = emptyGrid(41, 41);
    grid.data[20 * 41 + 20] = 100;
    const clearance = clearanceField(grid);
    const halfDiagonal = (0.05 * Math.SQRT2) / 2;
    expect(clearance[20 * 41 + 20]).toBe(0);
    expect(clearance[20 * 41 + 30]).toBeCloseTo(10 * 0.05 - halfDiagonal, 5);
    expect(clearance[26 * 41 + 28]).toBeCloseTo(Math.hypot(6, 8) * 0.05 - halfDiagonal, 5);
    // Unknown cells count as obstacles.
    grid.data[0] = -1;
    expect(clearanceField(grid)[1]).toBeCloseTo(0.05 - halfDiagonal, 5);
    expect(clearanceField(emptyGrid(5, 5))[12]).toBe(Infinity);
  });
});

describe('inflate', () => {
  it('grows obstacles by the radius and leaves the input alone', () => {
    const grid = emptyGrid(40, 40);
    // A wall two cells thick across the bottom: rows 0 and 1.
    grid.data.fill(100, 0, 80);
    const inflated = inflate(grid, 0.155);
    expect(grid.data[5 * 40 + 10]).toBe(0);
    const column = Array.from({ length: 40 }, (_, row) => inflated.data[row * 40 + 10]);
    // Row r's centre is (r - 1.5) cells from the wall's edge; r = 5 is the first at >= 0.155 m (less half a diagonal).
    expect(column.slice(0, 5)).toEqual([100, 100, 100, 100, 100]);
    expect(column.slice(5)).toEqual(new Array(35).fill(0));
    expect(inflated.width).toBe(40);
    expect(inflated.origin).toEqual(grid.origin);
  });
});
