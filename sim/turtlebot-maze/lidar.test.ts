import { describe, expect, it } from 'vitest';
import { LDS_01, Lidar } from './lidar.ts';
import { DEFAULT_MAZE_SEED, generateMaze, type Rect } from './maze.ts';
import { Rng } from './rng.ts';

// A 4 x 2 m room with 0.1 m walls; free space is 0.1..3.9 x 0.1..1.9.
const room: Rect[] = [
  { x0: 0, y0: 0, x1: 4, y1: 0.1 },
  { x0: 0, y0: 1.9, x1: 4, y1: 2 },
  { x0: 0, y0: 0, x1: 0.1, y1: 2 },
  { x0: 3.9, y0: 0, x1: 4, y1: 2 },
];

/** Reference range by marching the ray in 1 mm steps: slow, simple, independent of the slab test. */
function marched(walls: readonly Rect[], x: number, y: number, angle: number, max: number): number {
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  for (let t = 0; t <= max + 0.01; t += 0.001) {
    const px = x + t * dx;
    const py = y + t * dy;
    if (walls.some((w) => px >= w.x0 && px <= w.x1 && py >= w.y0 && py <= w.y1)) return t;
  }
  return Infinity;
}

describe('Lidar', () => {
  it('reports the LDS-01 geometry: 360 beams from 0 to 2π - 1°', () => {
    const scan = new Lidar(room, { noiseSigma: 0 }).scan({ x: 1, y: 1, yaw: 0 });
    expect(scan.ranges).toHaveLength(360);
    expect(scan.angleMin).toBe(0);
    expect(scan.angleIncrement).toBeCloseTo((2 * Math.PI) / 360, 12);
    expect(scan.angleMax).toBeCloseTo(2 * Math.PI - scan.angleIncrement, 12);
    expect([scan.rangeMin, scan.rangeMax]).toEqual([0.12, 3.5]);
  });

  it('measures exact distances to the walls, counter-clockwise from the sensor heading', () => {
    const lidar = new Lidar(room, { noiseSigma: 0 });
    const east = lidar.scan({ x: 1, y: 1, yaw: 0 });
    expect(east.ranges[0]).toBeCloseTo(2.9, 5);
    expect(east.ranges[90]).toBeCloseTo(0.9, 5);
    expect(east.ranges[180]).toBeCloseTo(0.9, 5);
    expect(east.ranges[270]).toBeCloseTo(0.9, 5);
    expect(east.ranges[45]).toBeCloseTo(0.9 * Math.SQRT2, 5);
    // Facing +y, beam 0 looks at the top wall and beam 90 at the left one.
    const north = lidar.scan({ x: 1, y: 1, yaw: Math.PI / 2 });
    expect(north.ranges[0]).toBeCloseTo(0.9, 5);
    expect(north.ranges[90]).toBeCloseTo(0.9, 5);
    expect(north.ranges[270]).toBeCloseTo(2.9, 5);
  });

  it('agrees with ray marching in the default maze', () => {
    const maze = generateMaze({ seed: DEFAULT_MAZE_SEED });
    const lidar = new Lidar(maze.walls, { noiseSigma: 0 });
    for (const pose of [
      { x: 0.55, y: 0.55, yaw: 0 },
      { x: 4.3, y: 4.2, yaw: 1 },
      { x: 7.2, y: 6.6, yaw: -2.5 },
    ]) {
      const scan = lidar.scan(pose);
      const misses: string[] = [];
      for (let i = 0; i < 360; i += 7) {
        const expected = marched(maze.walls, pose.x, pose.y, pose.yaw + i * scan.angleIncrement, 3.5);
        const got = scan.ranges[i]!;
        const ok =
          expected > 3.5 ? got === Infinity : expected < 0.12 ? got === -Infinity : Math.abs(got - expected) < 0.002;
        if (!ok) misses.push(`beam ${i}: ${got} vs ${expected}`);
      }
      expect(misses).toEqual([]);
    }
  });

  it('reports +Infinity beyond range_max and -Infinity inside range_min (REP 117)', () => {
    const big: Rect[] = [{ x0: 0, y0: -5, x1: 0.1, y1: 5 }];
    const scan = new Lidar(big, { noiseSigma: 0 }).scan({ x: 0.15, y: 0, yaw: 0 });
    expect(scan.ranges[0]).toBe(Infinity);
    expect(scan.ranges[180]).toBe(-Infinity);
    const farther = new Lidar(big, { noiseSigma: 0 }).scan({ x: 4, y: 0, yaw: 0 });
    expect(farther.ranges[180]).toBe(Infinity);
  });

  it('adds gaussian noise of the configured sigma from its rng', () => {
    const lidar = new Lidar(room, { rng: new Rng(5) });
    const errors: number[] = [];
    for (let k = 0; k < 50; k++) {
      const scan = lidar.scan({ x: 1, y: 1, yaw: 0 });
      errors.push(scan.ranges[90]! - 0.9, scan.ranges[180]! - 0.9, scan.ranges[270]! - 0.9);
    }
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sigma = Math.sqrt(errors.reduce((a, b) => a + (b - mean) ** 2, 0) / errors.length);
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(sigma).toBeGreaterThan(LDS_01.noiseSigma * 0.8);
    expect(sigma).toBeLessThan(LDS_01.noiseSigma * 1.2);
  });
});
