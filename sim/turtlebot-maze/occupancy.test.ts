import { describe, expect, it } from 'vitest';
import { DEFAULT_MAZE_SEED, generateMaze, type Maze } from './maze.ts';
import { rasterize } from './occupancy.ts';

describe('rasterize', () => {
  it('lays cells out like nav_msgs/OccupancyGrid: row-major, row 0 at the bottom', () => {
    // One wall up the left side, one along the top: asymmetric, so a flipped or transposed grid shows.
    const maze: Maze = {
      ...generateMaze({ seed: 1 }),
      width: 1,
      height: 0.5,
      walls: [
        { x0: 0, y0: 0, x1: 0.1, y1: 0.5 },
        { x0: 0, y0: 0.45, x1: 1, y1: 0.5 },
      ],
    };
    const grid = rasterize(maze, 0.05);
    expect([grid.width, grid.height, grid.resolution]).toEqual([20, 10, 0.05]);
    expect(grid.origin).toEqual({ x: 0, y: 0 });
    const at = (col: number, row: number) => grid.data[row * grid.width + col];
    expect(at(0, 0)).toBe(100);
    expect(at(1, 0)).toBe(100);
    expect(at(2, 0)).toBe(0);
    expect(at(19, 0)).toBe(0);
    expect(at(19, 9)).toBe(100);
    expect(at(10, 8)).toBe(0);
  });

  it('marks exactly the cells the walls cover in the default maze', () => {
    const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });
    const grid = rasterize(maze);
    expect([grid.width, grid.height]).toEqual([162, 162]);
    const inside = (x: number, y: number, margin: number) =>
      maze.walls.some((w) => x > w.x0 - margin && x < w.x1 + margin && y > w.y0 - margin && y < w.y1 + margin);
    const wrong: string[] = [];
    for (let row = 0; row < grid.height; row++) {
      for (let col = 0; col < grid.width; col++) {
        const x = (col + 0.5) * grid.resolution;
        const y = (row + 0.5) * grid.resolution;
        const v = grid.data[row * grid.width + col];
        if (inside(x, y, 0) ? v !== 100 : !inside(x, y, grid.resolution) && v !== 0) wrong.push(`${col},${row}=${v}`);
      }
    }
    expect(wrong).toEqual([]);
    // The outer boundary is closed: the first and last rows and columns are all wall.
    const border = [];
    for (let i = 0; i < 162; i++)
      border.push(grid.data[i], grid.data[161 * 162 + i], grid.data[i * 162], grid.data[i * 162 + 161]);
    expect(new Set(border)).toEqual(new Set([100]));
  });
});
