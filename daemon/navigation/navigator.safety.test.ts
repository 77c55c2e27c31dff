import { describe, expect, it } from 'vitest';
import { Bus } from '../bus/bus.ts';
import { MessageCodec } from '../bus/codec.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { odometryMessage, occupancyGridMessage, simStamp } from '../../sim/turtlebot-maze/messages.ts';
import type { Pose2D } from './geometry.ts';
import { OCCUPIED, type Grid } from './grid.ts';
import { Navigator, type NavigatorOptions } from './navigator.ts';
import { recordCmdVel } from '../../test/helpers/cmd-vel.ts';
import { tick } from '../../test/helpers/wait.ts';
import { cleanupStack } from '../../test/helpers/cleanups.ts';

/**
 * The navigator against a robot played by the test: every /odom and /scan is published by hand with the
 * stamp the test chooses, so robot time is exactly what the test says. The robot does not move.
 */

const codec = new MessageCodec(new DefinitionsRegistry());
const cleanups = cleanupStack();

/** A corridor 3 m long and 1 m wide (inside), walls all round: cells of 0.05 m, origin at (0, 0). */
function corridor(): Grid {
  const width = 62;
  const height = 22;
  const data = new Int8Array(width * height);
  for (let r = 0; r < height; r++)
    for (let c = 0; c < width; c++)
      if (r === 0 || c === 0 || r === height - 1 || c === width - 1) data[r * width + c] = OCCUPIED;
  return { width, height, resolution: 0.05, origin: { x: 0, y: 0 }, data };
}

function robot(options: Partial<NavigatorOptions> = {}) {
  const bus = new Bus();
  const nav = new Navigator({ bus, codec, ...options });
  nav.start();
  const twists = recordCmdVel(bus, codec);
  const latched = { source: 'test', qos: { durability: 'transient_local' as const } };
  const mapPub = bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', latched);
  const odomPub = bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'test' });
  const scanPub = bus.advertise('/scan', 'sensor_msgs/msg/LaserScan', { source: 'test' });
  cleanups.push(() => {
    nav.close();
    bus.close();
  });
  return {
    nav,
    twists,
    map: async (grid: Grid) => {
      mapPub.publish(codec.encode('nav_msgs/msg/OccupancyGrid', occupancyGridMessage(grid)));
      await tick();
    },
    odom: async (t: number, pose: Pose2D) => {
      odomPub.publish(codec.encode('nav_msgs/msg/Odometry', odometryMessage(t, pose, { linear: 0, angular: 0 })));
      await tick();
    },
    /** A 360-beam scan at stamp t; `range(angle)` gives each beam's range (Infinity: no return). */
    scan: async (t: number, range: (angle: number) => number = () => Infinity) => {
      const ranges = new Float32Array(360);
      for (let i = 0; i < 360; i++) ranges[i] = range((i * Math.PI) / 180);
      const msg = {
        header: { stamp: simStamp(t), frame_id: 'base_scan' },
        angle_min: 0,
        angle_max: (359 * Math.PI) / 180,
        angle_increment: Math.PI / 180,
        range_min: 0.12,
        range_max: 3.5,
        ranges,
      };
      scanPub.publish(codec.encode('sensor_msgs/msg/LaserScan', msg));
      await tick();
    },
  };
}

const start: Pose2D = { x: 0.5, y: 0.55, yaw: 0 };
const goal = { x: 2.5, y: 0.55 };

/** The robot at the start of the corridor at t = 0, with its map and (unless `scan` says not) a clear scan. */
async function robotAtStart(
  options: Partial<NavigatorOptions> = {},
  scan: ((angle: number) => number) | 'none' = () => Infinity,
) {
  const r = robot(options);
  await r.map(corridor());
  await r.odom(0, start);
  if (scan !== 'none') await r.scan(0, scan);
  return r;
}

describe('Navigator safety frames', () => {
  it('drives forward only with a /scan newer than scanMaxAgeS, and ends with no_data when it stays stale', async () => {
    const r = await robotAtStart();
    const result = r.nav.navigateTo(goal, { timeoutS: 60 });
    await tick();
    // Robot time in 0.1 s steps; the only scan is the one at t = 0.
    const linearAt: Record<string, number> = {};
    for (let k = 1; k <= 40; k++) {
      const before = r.twists.length;
      await r.odom(k / 10, start);
      if (r.twists.length > before) linearAt[(k / 10).toFixed(1)] = r.twists.at(-1)!.linear;
    }
    expect(linearAt['0.3']).toBeGreaterThan(0);
    // 0.6 s after the scan: stale, so no forward motion, although the way ahead is clear.
    expect(linearAt['0.6']).toBe(0);
    expect(linearAt['1.5']).toBe(0);
    await expect(result).resolves.toMatchObject({
      reached: false,
      outcome: 'no_data',
      message:
        'no /scan newer than 0.5 s for 2 s (the last one is 2.60 s older than /odom): the safety stop needs the lidar, so the robot stopped',
    });
    expect(r.twists.at(-1)).toEqual({ linear: 0, angular: 0 });
  });

  it('holds still with no /scan at all, and says none has arrived', async () => {
    const r = await robotAtStart({}, 'none');
    const result = r.nav.navigateTo(goal, { timeoutS: 60 });
    await tick();
    for (let k = 1; k <= 25; k++) await r.odom(k / 10, start);
    expect(r.twists.every((t) => t.linear === 0)).toBe(true);
    await expect(result).resolves.toMatchObject({
      outcome: 'no_data',
      message: expect.stringContaining('(none has arrived)'),
    });
  });

  it('plans around what blocks it for blockedReplanS, and ends as blocked when there is no way round', async () => {
    // Something not on the map fills the corridor 0.15 m ahead of the scanner: a plane at x = 0.65.
    const wallAhead = (a: number) => (Math.cos(a) > 0.3 ? 0.15 / Math.cos(a) : Infinity);
    const r = await robotAtStart({}, wallAhead);
    const result = r.nav.navigateTo(goal, { timeoutS: 8 });
    await tick();
    for (let k = 1; k <= 100; k++) {
      if (k % 2 === 0) await r.scan(k / 10, wallAhead);
      await r.odom(k / 10, start);
    }
    const ended = await result;
    expect(ended).toMatchObject({ reached: false, outcome: 'blocked' });
    expect(ended.message).toMatch(
      /^blocked at \(0\.50, 0\.55\) by an obstacle that is not on the map, with no way around it: no path from/,
    );
    expect(ended.elapsedS).toBeLessThan(8);
    expect(r.twists.every((t) => t.linear === 0)).toBe(true);
  });

  it('plans again on a new /map, and ends as unreachable when the new map walls the goal off', async () => {
    const r = await robotAtStart();
    const result = r.nav.navigateTo(goal, { timeoutS: 60 });
    await tick();
    await r.odom(0.1, start);
    expect(r.twists.at(-1)!.linear).toBeGreaterThan(0);
    const walled = corridor();
    for (let row = 0; row < walled.height; row++) walled.data[row * walled.width + 30] = OCCUPIED; // across at x = 1.5
    await r.map(walled);
    await expect(result).resolves.toMatchObject({
      outcome: 'unreachable',
      message: expect.stringMatching(/^after a new \/map: no path from \(0\.50, 0\.55\) to \(2\.50, 0\.55\)/),
    });
    expect(r.twists.at(-1)).toEqual({ linear: 0, angular: 0 });
  });

  it('settles every call: of two goals given in the same tick, the first ends as superseded', async () => {
    const r = await robotAtStart();
    const first = r.nav.navigateTo(goal, { timeoutS: 60 });
    const second = r.nav.navigateTo({ x: 1.5, y: 0.55 }, { timeoutS: 60 });
    await expect(first).resolves.toMatchObject({
      reached: false,
      outcome: 'cancelled',
      message: 'superseded by a new goal',
    });
    r.nav.cancel('test over');
    await expect(second).resolves.toMatchObject({ outcome: 'cancelled', message: 'test over' });
  });

  it('ends the goal on the wall clock when robot time stops advancing, and stops the robot', async () => {
    const r = await robotAtStart();
    const result = r.nav.navigateTo(goal, { timeoutS: 0.05 });
    // /odom keeps coming, but its stamp is stuck at 0 (a driver with a broken clock).
    const timer = setInterval(() => void r.odom(0, start), 5);
    cleanups.push(() => clearInterval(timer));
    await expect(result).resolves.toMatchObject({
      outcome: 'timeout',
      message: expect.stringMatching(
        /^did not reach \(2\.50, 0\.55\) within 0\.05 s: robot time \(\/odom stamps\) stopped advancing/,
      ),
    });
    expect(r.twists.at(-1)).toEqual({ linear: 0, angular: 0 });
  });

  it('ends the goal with no_data when /odom stops, however long a slow sim takes', async () => {
    // timeScale 0.5: robot time runs at half speed, so 500 ms of robot time is 1000 ms of wall time.
    const r = await robotAtStart({ timeScale: 0.5 });
    const result = r.nav.navigateTo(goal, { timeoutS: 60 });
    await tick();
    await r.odom(0.1, start);
    expect(r.twists.at(-1)!.linear).toBeGreaterThan(0);
    await expect(result).resolves.toMatchObject({
      outcome: 'no_data',
      message: 'no /odom for 1000 ms: the robot (or sim) stopped publishing odometry, or is paused; stopped it',
    });
    expect(r.twists.at(-1)).toEqual({ linear: 0, angular: 0 });
  });

  it('says whether it had sent a motion command: a drive cancelled right after its first has 0 s of robot time, yet it started', async () => {
    const r = await robotAtStart();
    const before = r.nav.navigateTo(goal, { timeoutS: 60 });
    await tick();
    r.nav.cancel('changed my mind');
    await expect(before).resolves.toMatchObject({ outcome: 'cancelled', elapsedS: 0, commanded: false });

    const result = r.nav.navigateTo(goal, { timeoutS: 60 });
    await tick();
    await r.odom(0.1, start); // the first /odom of this goal: it sends a drive command, and its robot time starts here
    expect(r.twists.at(-1)!.linear).toBeGreaterThan(0);
    r.nav.cancel('changed my mind');
    await expect(result).resolves.toMatchObject({ outcome: 'cancelled', elapsedS: 0, commanded: true });
    expect(r.twists.at(-1)).toEqual({ linear: 0, angular: 0 });
  });
});
