import { describe, expect, it } from 'vitest';
import { DEFAULT_MAZE_SEED, generateMaze, rasterize } from '../../sim/turtlebot-maze/core.ts';
import { PathPlanner, planPath } from './astar.ts';
import { clearanceField } from './costmap.ts';
import type { Point2D } from './geometry.ts';
import { cellOf, type Grid } from './grid.ts';

const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });
const grid = rasterize(maze);
const planner = new PathPlanner(grid);
const INFLATION = 0.105 + 0.05;

/** A grid with the given boxes (metres) occupied. */
function gridWith(
  widthM: number,
  heightM: number,
  boxes: { x0: number; y0: number; x1: number; y1: number }[],
  resolution = 0.05,
): Grid {
  const width = Math.round(widthM / resolution);
  const height = Math.round(heightM / resolution);
  const data = new Int8Array(width * height);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const x = (col + 0.5) * resolution;
      const y = (row + 0.5) * resolution;
      if (boxes.some((b) => x > b.x0 && x < b.x1 && y > b.y0 && y < b.y1)) data[row * width + col] = 100;
    }
  }
  return { width, height, resolution, origin: { x: 0, y: 0 }, data };
}

/** The smallest clearance met along a polyline, sampled every centimetre. */
function minClearance(g: Grid, path: readonly Point2D[]): number {
  const clearance = clearanceField(g);
  let min = Infinity;
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1]!;
    const b = path[i]!;
    const n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 0.01));
    for (let k = 0; k <= n; k++) {
      const cell = cellOf(g, { x: a.x + ((b.x - a.x) * k) / n, y: a.y + ((b.y - a.y) * k) / n })!;
      min = Math.min(min, clearance[cell.row * g.width + cell.col]!);
    }
  }
  return min;
}

describe('planPath', () => {
  it('finds a path across the default maze that keeps the robot clear of every wall', () => {
    const goal = maze.namedPoses.far_corner!;
    const result = planner.plan(maze.start, goal);
    if (!result.ok) throw new Error(result.message);
    expect(result.path[0]).toEqual(maze.start);
    expect(result.path.at(-1)).toEqual(goal);
    expect(result.goal).toEqual(goal);
    let length = 0;
    for (let i = 1; i < result.path.length; i++)
      length += Math.hypot(result.path[i]!.x - result.path[i - 1]!.x, result.path[i]!.y - result.path[i - 1]!.y);
    expect(result.length).toBeCloseTo(length, 9);
    // The maze is 8 x 8 cells; no route to the far corner is shorter than the Manhattan distance of cells.
    expect(result.length).toBeGreaterThan(14);
    expect(minClearance(grid, result.path)).toBeGreaterThanOrEqual(INFLATION - 0.01);
    // Simplified: far fewer waypoints than the ~300 cells walked.
    expect(result.path.length).toBeLessThan(60);
    expect(planner.plan(maze.start, goal)).toEqual(result);
  });

  it('keeps to the middle of a corridor rather than hugging a wall', () => {
    // A 0.9 m corridor (free y 0.1..1.0); start and goal both 0.2 m off the bottom wall.
    const corridor = gridWith(4, 1.1, [
      { x0: 0, y0: 0, x1: 4, y1: 0.1 },
      { x0: 0, y0: 1.0, x1: 4, y1: 1.1 },
    ]);
    const start = { x: 0.4, y: 0.3 };
    const goal = { x: 3.6, y: 0.3 };
    const centred = planPath(corridor, start, goal);
    const hugging = planPath(corridor, start, goal, { clearanceWeight: 0 });
    if (!centred.ok || !hugging.ok) throw new Error('corridor plan failed');
    expect(Math.max(...hugging.path.map((p) => p.y))).toBeLessThan(0.36);
    expect(Math.max(...centred.path.map((p) => p.y))).toBeGreaterThan(0.45);
  });

  it('never cuts a corner between two diagonal obstacle cells', () => {
    // A diagonal line of single obstacle cells: 8-connected moves could slip through, 4-connected cannot.
    const g: Grid = { width: 10, height: 10, resolution: 1, origin: { x: 0, y: 0 }, data: new Int8Array(100) };
    for (let i = 0; i < 10; i++) g.data[i * 10 + i] = 100;
    const result = planPath(g, { x: 5.5, y: 1.5 }, { x: 1.5, y: 5.5 }, { robotRadius: 0, safetyMargin: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('no_path');
    const open = planPath(g, { x: 5.5, y: 1.5 }, { x: 8.5, y: 2.5 }, { robotRadius: 0, safetyMargin: 0 });
    expect(open.ok).toBe(true);
  });

  it('fails a goal in the sealed closet at once, saying it is walled off', () => {
    const closet = maze.namedPoses.closet!;
    const result = planner.plan(maze.start, closet);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('no_path');
    expect(result.message).toBe(
      `no path from (0.55, 0.55) to (${closet.x.toFixed(2)}, ${closet.y.toFixed(2)}): the goal is in an area walled off from the start`,
    );
    // Answered from the region labels, without searching a single cell.
    expect(result.expanded).toBe(0);
  });

  it('says when the only way is too narrow for the robot', () => {
    // Two rooms joined by a 0.2 m gap: open on the map, too tight for a 0.31 m wide robot plus margin.
    const g = gridWith(3, 1.2, [
      { x0: 1.4, y0: 0, x1: 1.6, y1: 0.5 },
      { x0: 1.4, y0: 0.7, x1: 1.6, y1: 1.2 },
    ]);
    const result = planPath(g, { x: 0.5, y: 0.6 }, { x: 2.5, y: 0.6 });
    expect(result).toMatchObject({ ok: false, reason: 'no_path' });
    if (!result.ok)
      expect(result.message).toMatch(
        /^no path from \(0\.50, 0\.60\) to \(2\.50, 0\.60\): every way there is narrower than the robot needs \(0\.155 m clearance each side\)$/,
      );
  });

  it('rejects a goal outside the map', () => {
    const result = planner.plan(maze.start, { x: 3.5, y: 9 });
    expect(result).toEqual({
      ok: false,
      reason: 'goal_outside_map',
      message: 'goal (3.50, 9.00) is outside the map (0..8.1 x 0..8.1 m)',
      expanded: 0,
    });
  });

  it('rejects a goal inside a wall, and a start inside one', () => {
    const wall = maze.walls.find((w) => w.x1 - w.x0 > 1)!;
    const inWall = { x: (wall.x0 + wall.x1) / 2, y: (wall.y0 + wall.y1) / 2 };
    expect(planner.plan(maze.start, inWall)).toMatchObject({ ok: false, reason: 'goal_in_obstacle' });
    const fromWall = planner.plan(inWall, maze.start);
    expect(fromWall).toMatchObject({ ok: false, reason: 'start_in_obstacle' });
    if (!fromWall.ok) expect(fromWall.message).toMatch(/^start \(.*\) is inside an obstacle/);
  });

  it('moves a goal that is free but too close to a wall to the nearest spot the robot fits', () => {
    // 0.08 m off the bottom outer wall (its inner face is at y = 0.1).
    const goal = { x: 2.55, y: 0.18 };
    const result = planner.plan(maze.start, goal);
    if (!result.ok) throw new Error(result.message);
    expect(result.goal).not.toEqual(goal);
    expect(Math.hypot(result.goal.x - goal.x, result.goal.y - goal.y)).toBeLessThan(0.25);
    expect(minClearance(grid, [result.goal, result.goal])).toBeGreaterThanOrEqual(INFLATION);
    // Too far into the inflated band to be moved: the robot cannot get there.
    const hopeless = planPath(grid, maze.start, goal, { snapRadius: 0.05 });
    expect(hopeless).toMatchObject({ ok: false, reason: 'goal_in_obstacle' });
  });
});
