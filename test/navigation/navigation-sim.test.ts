import { afterEach, describe, expect, it } from 'vitest';
import { occupancyGridMessage } from '../../sim/turtlebot-maze/messages.ts';
import { rasterize } from '../../sim/turtlebot-maze/occupancy.ts';
import { distanceToRect, type TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import type { Rect } from '../../sim/turtlebot-maze/index.ts';
import { startNavSim, stopNavSim } from './nav-sim-harness.ts';

/**
 * The navigation skill against the turtlebot-maze sim when things go wrong: /odom stops, /scan is gone,
 * something not on the map is in the way, the map changes mid-drive, the goal is off a wall. Everything
 * is judged in sim time, at speed 1000.
 */

afterEach(stopNavSim);

async function startSim() {
  const { daemon, sim, codec, navigator } = await startNavSim('nav-sim-');
  // What the robot is told last, and every pose it is in.
  let lastTwist: { linear: number; angular: number } | undefined;
  let plans = 0;
  daemon.bus.subscribe({
    name: 'test',
    topic: '/cmd_vel',
    queue: { policy: 'keep-latest' },
    handler: (m) => {
      const t = codec.decode<{ linear: { x: number }; angular: { z: number } }>(m.type, m.data);
      lastTwist = { linear: t.linear.x, angular: t.angular.z };
    },
  });
  daemon.bus.subscribe({
    name: 'test',
    topic: '/plan',
    queue: { policy: 'drop-oldest', depth: 100 },
    handler: () => void plans++,
  });
  const poses: { x: number; y: number }[] = [];
  daemon.bus.subscribe({
    name: 'test',
    topic: '/odom',
    queue: { policy: 'drop-oldest', depth: 100_000 },
    handler: (m) =>
      void poses.push(
        codec.decode<{ pose: { pose: { position: { x: number; y: number } } } }>(m.type, m.data).pose.pose.position,
      ),
  });
  return { daemon, sim, codec, navigator, poses, lastTwist: () => lastTwist, plans: () => plans };
}

/** Moves one of the maze's real walls (one far from the test's route) to `where`: an obstacle the map does not show. */
function moveAWall(sim: TurtlebotMazeSim, where: Rect): void {
  const wall = sim.maze.walls.find((w) => w.x0 >= 5 && w.y0 >= 7 && w.x1 < 8 && w.y1 < 8)!;
  Object.assign(wall, where);
}

describe('navigation in the sim, when things go wrong', () => {
  it('stops the robot and ends with no_data when the sim is paused mid-drive (no /odom)', async () => {
    const { daemon, sim, navigator, lastTwist } = await startSim();
    sim.unpause();
    const result = navigator.navigateTo({ x: 7.55, y: 7.55 }, { timeoutS: 300 });
    await sim.until(5);
    await daemon.bus.query('sim/pause', { encoding: 'text/plain', payload: new Uint8Array() });
    await expect(result).resolves.toMatchObject({
      reached: false,
      outcome: 'no_data',
      message: expect.stringMatching(/^no \/odom for \d+ ms/),
    });
    expect(lastTwist()).toEqual({ linear: 0, angular: 0 });
  });

  it('never drives into an obstacle it cannot see: with no /scan it holds still and ends with no_data', async () => {
    const { daemon, sim, navigator, lastTwist } = await startSim();
    // The lidar is down (the navigator gets no /scan), and a box not on the map blocks the first corridor.
    for (const s of daemon.bus.subscriptions())
      if (s.name === 'navigator' && s.topics.has('/scan')) daemon.bus.unsubscribe(s);
    moveAWall(sim, { x0: 1.3, y0: 0.05, x1: 1.4, y1: 1.05 });
    sim.unpause();
    const result = await navigator.navigateTo({ x: 7.55, y: 7.55 }, { timeoutS: 30 });
    expect(result).toMatchObject({
      reached: false,
      outcome: 'no_data',
      message: expect.stringMatching(/^no \/scan newer than 0\.5 s for 2 s/),
    });
    expect(sim.world.collisions).toBe(0);
    expect(sim.world.distance).toBe(0);
    expect(lastTwist()).toEqual({ linear: 0, angular: 0 });
  });

  it('plans around an obstacle that is not on the map, and arrives without touching it', async () => {
    const { sim, navigator, plans } = await startSim();
    // A bar from the left wall of the first corridor north to its middle, where the planned path runs.
    moveAWall(sim, { x0: 0.1, y0: 2.5, x1: 0.5, y1: 2.6 });
    sim.unpause();
    const result = await navigator.navigateTo({ x: 0.55, y: 3.55 }, { timeoutS: 120 });
    expect(result).toMatchObject({ reached: true, outcome: 'reached', message: 'reached (0.55, 3.55)' });
    expect(sim.world.collisions).toBe(0);
    expect(plans()).toBeGreaterThanOrEqual(2);
  });

  it('plans again when a new /map arrives mid-drive, and keeps out of what it newly shows', async () => {
    const { daemon, sim, codec, navigator, poses } = await startSim();
    sim.unpause();
    const result = navigator.navigateTo({ x: 0.55, y: 3.55 }, { timeoutS: 120 });
    await sim.until(3);
    // A map server learns of a bar across half of the corridor ahead (the sim's world has no such wall).
    const bar = { x0: 0.1, y0: 2.5, x1: 0.55, y1: 2.6 };
    const map = daemon.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'test' });
    map.publish(
      codec.encode(
        'nav_msgs/msg/OccupancyGrid',
        occupancyGridMessage(rasterize({ ...sim.maze, walls: [...sim.maze.walls, bar] })),
      ),
    );
    await expect(result).resolves.toMatchObject({ reached: true, outcome: 'reached' });
    expect(navigator.mapsLoaded).toBe(2);
    // Not once did the footprint (radius 0.105 m) overlap the bar.
    expect(Math.min(...poses.map((p) => distanceToRect(p.x, p.y, bar)))).toBeGreaterThan(0.105);
  });

  it('names the spot it drove to when the goal was moved off a wall, and how far that is from the goal asked for', async () => {
    const { navigator, sim } = await startSim();
    sim.unpause();
    const result = await navigator.navigateTo({ x: 0.55, y: 0.12 }, { timeoutS: 60 });
    expect(result).toMatchObject({ reached: true, outcome: 'reached' });
    expect(result.message).toBe(
      'reached (0.53, 0.28), the nearest spot the robot fits in to (0.55, 0.12) (0.16 m from it)',
    );
    expect(result.goal!.x).toBeCloseTo(0.525, 6);
    expect(result.goal!.y).toBeCloseTo(0.275, 6);
    expect(result.goalOffsetM).toBeCloseTo(Math.hypot(0.025, 0.155), 6);
  });
});
