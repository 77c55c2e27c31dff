import { describe, expect, it } from 'vitest';
import { DEFAULT_MAZE_SEED, generateMaze, LDS_MOUNT, MazeWorld, rasterize } from '../../sim/turtlebot-maze/core.ts';
import { PathPlanner } from './astar.ts';
import type { Point2D } from './geometry.ts';
import { PathFollower } from './path-follower.ts';

// The navigation skill without the bus: plan on the map the sim publishes, follow with pose and scan
// feedback at 30 Hz, physics in 10 ms steps, scans at 10 Hz. Everything runs on sim time.
const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });
const planner = new PathPlanner(rasterize(maze));
const cell = (row: number, col: number): Point2D => ({ x: col + 0.55, y: row + 0.55 });
const CONTROL_DT = 1 / 30;

function navigate(seed: number, goal: Point2D, path: readonly Point2D[], timeout = 200) {
  const world = new MazeWorld({ maze, seed });
  const follower = new PathFollower(path, { scanOrigin: LDS_MOUNT });
  let minClearance = Infinity;
  for (let tick = 0; world.time < timeout; tick++) {
    const scan = tick % 3 === 0 ? world.scan() : undefined;
    const cmd = follower.update(world.pose(), scan);
    if (cmd.done) break;
    world.setCmdVel(cmd.linear, cmd.angular);
    world.step(CONTROL_DT);
    minClearance = Math.min(minClearance, world.clearance);
  }
  const p = world.pose();
  return {
    done: follower.done,
    time: world.time,
    error: Math.hypot(p.x - goal.x, p.y - goal.y),
    collisions: world.collisions,
    minClearance,
  };
}

describe('navigation in the default maze, closed loop', () => {
  const goals: [string, Point2D][] = [
    ['charging_dock', maze.namedPoses.charging_dock!],
    ['far_corner', maze.namedPoses.far_corner!],
    ['top-left corner', cell(7, 0)],
    ['bottom-right corner', cell(0, 7)],
    ['centre', cell(4, 4)],
    ['bottom-left quadrant', cell(1, 2)],
    ['top-left quadrant', cell(6, 2)],
    ['top-right quadrant', cell(5, 6)],
    ['bottom-right quadrant', cell(2, 5)],
    ['off a cell centre', { x: 3.3, y: 4.7 }],
  ];

  it.each(goals)('reaches the %s from the start without touching a wall', (_, goal) => {
    const plan = planner.plan(maze.start, goal);
    if (!plan.ok) throw new Error(plan.message);
    for (const seed of [1, 2, 3]) {
      const run = navigate(seed, goal, plan.path);
      expect(run, `seed ${seed}`).toMatchObject({ done: true, collisions: 0 });
      expect(run.error).toBeLessThanOrEqual(0.1);
      // It keeps well off the walls, not just out of them.
      expect(run.minClearance).toBeGreaterThan(0.03);
      // Slower than 0.1 m/s on average would mean dithering.
      expect(run.time).toBeLessThan(plan.length / 0.1);
    }
  });

  it('refuses goals it cannot reach, saying why, before moving', () => {
    const world = new MazeWorld({ maze, seed: 1 });
    const closet = planner.plan(world.pose(), maze.namedPoses.closet!);
    expect(closet).toMatchObject({ ok: false, reason: 'no_path', expanded: 0 });
    const wall = maze.walls[0]!;
    const inWall = planner.plan(world.pose(), { x: (wall.x0 + wall.x1) / 2, y: (wall.y0 + wall.y1) / 2 });
    expect(inWall).toMatchObject({ ok: false, reason: 'goal_in_obstacle' });
    expect(planner.plan(world.pose(), { x: 3.5, y: 9 })).toMatchObject({ ok: false, reason: 'goal_outside_map' });
  });

  it('stops short of a wall even when told to follow a path straight through it', () => {
    // The safety frame is the scan check, not the plan: this path runs through the bottom outer wall.
    const through = [maze.start, { x: 0.55, y: -1 }];
    const world = new MazeWorld({ maze, seed: 1 });
    const follower = new PathFollower(through, { scanOrigin: LDS_MOUNT });
    let blocked = 0;
    for (let tick = 0; tick < 300; tick++) {
      const cmd = follower.update(world.pose(), world.scan());
      if (cmd.blocked) blocked++;
      world.setCmdVel(cmd.linear, cmd.angular);
      world.step(CONTROL_DT);
    }
    expect(world.collisions).toBe(0);
    expect(blocked).toBeGreaterThan(100);
    expect(world.clearance).toBeGreaterThan(0.03);
    expect(world.pose().y).toBeLessThan(0.4);
  });
});
