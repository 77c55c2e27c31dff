import { describe, expect, it } from 'vitest';
import { DEFAULT_MAZE_SEED, generateMaze, type Maze } from './maze.ts';

/** The cell graph read back from the wall boxes alone: a passage is open where no box covers its midpoint. */
function cellGraph(maze: Maze) {
  const { rows, cols, cellSize, wallThickness: t } = maze;
  const blocked = (x: number, y: number) => maze.walls.some((w) => x > w.x0 && x < w.x1 && y > w.y0 && y < w.y1);
  const centre = (r: number, c: number) => ({
    x: c * cellSize + (cellSize + t) / 2,
    y: r * cellSize + (cellSize + t) / 2,
  });
  const open = (r: number, c: number, dr: number, dc: number) => {
    const r2 = r + dr;
    const c2 = c + dc;
    if (r2 < 0 || c2 < 0 || r2 >= rows || c2 >= cols) return false;
    const mid =
      dr === 0
        ? { x: Math.max(c, c2) * cellSize + t / 2, y: centre(r, c).y }
        : { x: centre(r, c).x, y: Math.max(r, r2) * cellSize + t / 2 };
    return !blocked(mid.x, mid.y);
  };
  // Breadth-first from the start cell.
  const dist = new Map<string, number>([['0,0', 0]]);
  const queue: [number, number][] = [[0, 0]];
  let edges = 0;
  for (let i = 0; i < queue.length; i++) {
    const [r, c] = queue[i]!;
    for (const [dr, dc] of [
      [1, 0],
      [0, 1],
      [-1, 0],
      [0, -1],
    ] as const) {
      if (!open(r, c, dr, dc)) continue;
      edges++;
      const key = `${r + dr},${c + dc}`;
      if (!dist.has(key)) {
        dist.set(key, dist.get(`${r},${c}`)! + 1);
        queue.push([r + dr, c + dc]);
      }
    }
  }
  const cellOf = (p: { x: number; y: number }) => `${Math.floor(p.y / cellSize)},${Math.floor(p.x / cellSize)}`;
  return { dist, reachable: dist.size, edges: edges / 2, cellOf };
}

describe('generateMaze', () => {
  const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });

  it('is 8 x 8 cells of 1 m with 0.1 m walls, starting bottom-left facing +x', () => {
    expect(DEFAULT_MAZE_SEED).toBe(7);
    expect(maze.width).toBeCloseTo(8.1, 9);
    expect(maze.height).toBeCloseTo(8.1, 9);
    expect(maze.start).toEqual({ x: 0.55, y: 0.55, yaw: 0 });
    for (const w of maze.walls) {
      expect(w.x0).toBeGreaterThanOrEqual(0);
      expect(w.y0).toBeGreaterThanOrEqual(0);
      expect(w.x1).toBeLessThanOrEqual(maze.width + 1e-9);
      expect(w.y1).toBeLessThanOrEqual(maze.height + 1e-9);
      expect(Math.min(w.x1 - w.x0, w.y1 - w.y0)).toBeCloseTo(0.1, 9);
    }
  });

  it('is the same for the same seed and different for another', () => {
    expect(generateMaze({ seed: DEFAULT_MAZE_SEED })).toEqual(maze);
    expect(generateMaze({ seed: 8 }).walls).not.toEqual(maze.walls);
  });

  it('connects every cell but the closet to the start, with loops giving more than one route', () => {
    const graph = cellGraph(maze);
    expect(graph.reachable).toBe(8 * 8 - 1);
    // A tree on V cells has V - 1 passages; every extra one closes a loop.
    expect(graph.edges).toBeGreaterThan(graph.reachable - 1);
    const perfect = cellGraph(generateMaze({ seed: DEFAULT_MAZE_SEED, loops: 0 }));
    expect(perfect.edges).toBe(perfect.reachable - 1);
  });

  it('seals one closet off: free inside, walled all round, unreachable', () => {
    expect(maze.sealed).toHaveLength(1);
    const closet = maze.sealed[0]!;
    const overlaps = maze.walls.some(
      (w) => w.x0 < closet.x1 && w.x1 > closet.x0 && w.y0 < closet.y1 && w.y1 > closet.y0,
    );
    expect(overlaps).toBe(false);
    const graph = cellGraph(maze);
    const centre = maze.namedPoses.closet!;
    expect(centre.x).toBeCloseTo((closet.x0 + closet.x1) / 2, 9);
    expect(centre.y).toBeCloseTo((closet.y0 + closet.y1) / 2, 9);
    expect(graph.dist.has(graph.cellOf(centre))).toBe(false);
  });

  it('puts the charging dock in a reachable dead end far from the start', () => {
    const graph = cellGraph(maze);
    const dock = maze.namedPoses.charging_dock!;
    const steps = graph.dist.get(graph.cellOf(dock));
    expect(steps).toBeDefined();
    expect(steps!).toBeGreaterThanOrEqual(Math.max(...graph.dist.values()) - 4);
    expect(Math.hypot(dock.x - maze.start.x, dock.y - maze.start.y)).toBeGreaterThan(4);
    for (const seed of [1, 2, 3, 4, 5]) {
      const other = generateMaze({ seed });
      const g = cellGraph(other);
      expect(g.reachable).toBe(63);
      expect(g.dist.get(g.cellOf(other.namedPoses.charging_dock!))).toBeGreaterThan(0);
    }
  });

  it('rejects sizes it cannot build', () => {
    expect(() => generateMaze({ seed: 1, rows: 1 })).toThrow(/rows and cols/);
    expect(() => generateMaze({ seed: 1, wallThickness: 1 })).toThrow(/wallThickness/);
  });
});
