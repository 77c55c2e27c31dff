import { describe, expect, it } from 'vitest';
import { DEFAULT_MAZE_SEED, generateMaze } from './maze.ts';
import { LDS_MOUNT } from './lidar.ts';
import { MazeWorld } from './world.ts';

const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });

/** A fixed, varied command sequence; returns every pose and every scan's ranges. */
function run(world: MazeWorld) {
  const poses = [];
  const scans = [];
  for (let k = 0; k < 90; k++) {
    world.setCmdVel(0.15 + 0.05 * Math.sin(k / 7), 0.8 * Math.cos(k / 11));
    world.step(1 / 30);
    poses.push(world.pose());
    if (k % 10 === 0) scans.push(Array.from(world.scan().ranges));
  }
  return { poses, scans, time: world.time, distance: world.distance };
}

describe('MazeWorld', () => {
  it('is deterministic: the same seed and commands give identical poses and scans', () => {
    const a = run(new MazeWorld({ maze, seed: 3 }));
    const b = run(new MazeWorld({ maze, seed: 3 }));
    expect(b).toEqual(a);
    expect(a.time).toBeCloseTo(3, 9);
    expect(a.distance).toBeGreaterThan(0.3);
  });

  it('draws different scan noise for a different seed', () => {
    // Slip off so both robots take the very same path and only the noise differs.
    const a = run(new MazeWorld({ maze, seed: 3, slip: 0 }));
    const b = run(new MazeWorld({ maze, seed: 4, slip: 0 }));
    expect(b.poses).toEqual(a.poses);
    const diffs = a.scans.flatMap((s, i) => s.map((r, j) => r - b.scans[i]![j]!)).filter(Number.isFinite);
    expect(diffs.some((d) => d !== 0)).toBe(true);
    expect(Math.max(...diffs.map(Math.abs))).toBeLessThan(0.1);
  });

  it('scans from base_scan, 3.2 cm behind the base centre', () => {
    const world = new MazeWorld({ maze, seed: 1, scanNoise: 0 });
    const scan = world.scan();
    expect(scan.frameId).toBe('base_scan');
    // Start (0.55, 0.55) facing +x; the inner faces of the outer walls are at x = 0.1 and y = 0.1.
    expect(scan.ranges[180]).toBeCloseTo(0.55 + LDS_MOUNT.x - 0.1, 5);
    expect(scan.ranges[270]).toBeCloseTo(0.45, 5);
  });

  it('stops the base when commands stop coming for 0.5 s', () => {
    const world = new MazeWorld({ maze, seed: 1 });
    world.setCmdVel(0.2, 0);
    for (let k = 0; k < 30; k++) world.step(0.1);
    expect(world.twist()).toEqual({ linear: 0, angular: 0 });
    // Ramp up 0.2 s, cruise to 0.5 s, brake 0.2 s: about 0.1 m.
    expect(world.distance).toBeGreaterThan(0.08);
    expect(world.distance).toBeLessThan(0.13);

    const fed = new MazeWorld({ maze, seed: 1 });
    for (let k = 0; k < 30; k++) {
      fed.setCmdVel(0.2, 0);
      fed.step(0.1);
    }
    expect(fed.twist().linear).toBeCloseTo(0.2, 9);
    expect(fed.distance).toBeGreaterThan(0.5);
  });

  it('rejects commands that are not finite', () => {
    const world = new MazeWorld({ maze, seed: 1 });
    expect(() => world.setCmdVel(Number.NaN, 0)).toThrow(/finite/);
  });
});
