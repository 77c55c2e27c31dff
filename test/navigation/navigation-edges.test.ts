import { afterEach, describe, expect, it } from 'vitest';
import type { OdometryMsg } from '../../daemon/navigation/ros-messages.ts';
import { Navigator } from '../../daemon/navigation/navigator.ts';
import { occupancyGridMessage } from '../../sim/turtlebot-maze/messages.ts';
import { rasterize } from '../../sim/turtlebot-maze/occupancy.ts';
import { recordCmdVel, type PlanarTwist } from '../helpers/cmd-vel.ts';
import { startNavSim, stopNavSim } from './nav-sim-harness.ts';

/**
 * Goals and inputs at the edges, against the turtlebot-maze sim at speed 1000: every goal ends with an
 * outcome that names what happened, and the robot is left with a zero Twist. The navigator reads its pose
 * from /loc, a localization the test plays by relaying the sim's /odom, so the pose can jump (a teleport,
 * a localization reset) or go bad while the sim's robot does not.
 */

afterEach(stopNavSim);

async function startSim() {
  const { daemon, sim, codec, navigator } = await startNavSim('nav-review-', { odom: '/loc' });
  const twists = recordCmdVel(daemon.bus, codec);
  // The localization: the sim's /odom, shifted by `offset` (or replaced by `override`).
  const loc = { offset: { x: 0, y: 0 }, override: undefined as undefined | ((m: OdometryMsg) => void) };
  const locPub = daemon.bus.advertise('/loc', 'nav_msgs/msg/Odometry', { source: 'test' });
  daemon.bus.subscribe({
    name: 'test-loc',
    topic: '/odom',
    queue: { policy: 'drop-oldest', depth: 1000 },
    handler: (m) => {
      const odom = codec.decode<OdometryMsg>(m.type, m.data);
      odom.pose.pose.position.x += loc.offset.x;
      odom.pose.pose.position.y += loc.offset.y;
      loc.override?.(odom);
      locPub.publish(codec.encode(m.type, odom));
    },
  });
  const mapPub = daemon.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'test' });
  const publishMap = (resolution: number, extraWalls: { x0: number; y0: number; x1: number; y1: number }[] = []) =>
    mapPub.publish(
      codec.encode(
        'nav_msgs/msg/OccupancyGrid',
        occupancyGridMessage(rasterize({ ...sim.maze, walls: [...sim.maze.walls, ...extraWalls] }, resolution)),
      ),
    );
  return { daemon, sim, codec, navigator, twists, loc, publishMap };
}

/** The robot was left with a zero Twist, or never sent one; and no Twist ever carried a NaN. */
function expectSafe(twists: PlanarTwist[]): void {
  expect(twists.every((t) => Number.isFinite(t.linear) && Number.isFinite(t.angular))).toBe(true);
  if (twists.length > 0) expect(twists.at(-1)).toEqual({ linear: 0, angular: 0 });
}

describe('navigation: goals and inputs at the edges, in the sim', () => {
  it('refuses goals inside a wall, outside the map, and that are no numbers, without moving the robot', async () => {
    const { sim, navigator, twists } = await startSim();
    sim.unpause();
    const cases: [{ x: number; y: number }, string][] = [
      [{ x: 0.05, y: 3 }, 'goal (0.05, 3.00) is inside an obstacle on the map'],
      [{ x: 20, y: -3 }, 'goal (20.00, -3.00) is outside the map (0..8.1 x 0..8.1 m)'],
      [{ x: NaN, y: 1 }, 'goal (NaN, 1) is not a point on the map: x is NaN'],
      [
        { x: Infinity, y: -Infinity },
        'goal (Infinity, -Infinity) is not a point on the map: x is Infinity, y is -Infinity',
      ],
    ];
    for (const [goal, message] of cases) {
      await expect(navigator.navigateTo(goal, { timeoutS: 60 })).resolves.toMatchObject({
        reached: false,
        outcome: 'unreachable',
        message,
      });
    }
    expect(sim.world.distance).toBe(0);
    expectSafe(twists);
  });

  it('a goal within the tolerance of the robot is reached at once, with no /odom to come (the sim paused)', async () => {
    const { sim, navigator, twists } = await startSim();
    sim.unpause();
    await sim.until(0.1);
    sim.pause();
    // On the robot, and exactly goal_tolerance (0.1 m) ahead of it.
    for (const goal of [
      { x: 0.55, y: 0.55 },
      { x: 0.65, y: 0.55 },
    ]) {
      await expect(navigator.navigateTo(goal, { timeoutS: 60 })).resolves.toMatchObject({
        reached: true,
        outcome: 'reached',
        elapsedS: 0,
      });
    }
    expect(sim.world.distance).toBe(0);
    expectSafe(twists);
  });

  it('a goal just past the tolerance is driven to', async () => {
    const { sim, navigator, twists } = await startSim();
    sim.unpause();
    await expect(navigator.navigateTo({ x: 0.66, y: 0.55 }, { timeoutS: 60 })).resolves.toMatchObject({
      reached: true,
      message: 'reached (0.66, 0.55)',
    });
    expect(sim.world.distance).toBeGreaterThan(0);
    expectSafe(twists);
  });

  it('stops the robot when the localization gives a NaN pose mid-drive, and never sends a NaN', async () => {
    const { sim, navigator, twists, loc } = await startSim();
    sim.unpause();
    const result = navigator.navigateTo({ x: 0.55, y: 3.55 }, { timeoutS: 60 });
    await sim.until(3);
    loc.override = (m) => void (m.pose.pose.position.x = NaN);
    await expect(result).resolves.toMatchObject({
      reached: false,
      outcome: 'no_data',
      message: '/loc gave a pose that is not a number (x is NaN): is the robot localized? Stopped it',
    });
    expectSafe(twists);
  });

  it('keeps driving through /map changing resolution (and size in cells) mid-drive, and keeps the last good map over a broken one', async () => {
    const { daemon, sim, codec, navigator, twists, publishMap } = await startSim();
    sim.unpause();
    const result = navigator.navigateTo({ x: 0.55, y: 3.55 }, { timeoutS: 120 });
    await sim.until(3);
    publishMap(0.1);
    await sim.until(6);
    publishMap(0.025);
    await sim.until(8);
    const broken = occupancyGridMessage(rasterize(sim.maze));
    broken.info.resolution = 0;
    daemon.bus
      .advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'test-broken' })
      .publish(codec.encode('nav_msgs/msg/OccupancyGrid', broken));
    await expect(result).resolves.toMatchObject({ reached: true, outcome: 'reached', message: 'reached (0.55, 3.55)' });
    expect(navigator.mapsLoaded).toBe(3);
    expect(navigator.mapsRejected).toBe(1);
    expect(sim.world.collisions).toBe(0);
    expectSafe(twists);
  });

  it('plans again when the pose jumps off the path, and says so when there is no way from where it landed', async () => {
    const { sim, navigator, twists, loc } = await startSim();
    const closet = sim.namedPoses.closet!;
    sim.unpause();
    const result = navigator.navigateTo({ x: 0.55, y: 3.55 }, { timeoutS: 120 });
    await sim.until(3);
    // A localization reset puts the robot in the sealed closet.
    loc.override = (m) => Object.assign(m.pose.pose.position, { x: closet.x, y: closet.y });
    const ended = await result;
    expect(ended).toMatchObject({ reached: false, outcome: 'unreachable' });
    expect(ended.message).toMatch(
      /^after \/loc jumped \d+\.\d\d m off the path: no path from .* the goal is in an area walled off from the start$/,
    );
    expect(sim.world.collisions).toBe(0);
    expectSafe(twists);
  });

  it('plans its way out when it starts inside the inflation of a wall on the map', async () => {
    const { sim, navigator, twists, publishMap } = await startSim();
    sim.unpause();
    await sim.until(0.1);
    // The map shows a wall 0.1 m left of the robot's centre: closer than the 0.155 m the planner keeps.
    publishMap(0.05, [{ x0: 0.38, y0: 0.3, x1: 0.45, y1: 0.8 }]);
    await expect(navigator.navigateTo({ x: 0.55, y: 3.55 }, { timeoutS: 120 })).resolves.toMatchObject({
      reached: true,
      outcome: 'reached',
    });
    expect(sim.world.collisions).toBe(0);
    expectSafe(twists);
  });

  it('a call waiting for data ends at once when the navigator stops', async () => {
    const { daemon, codec } = await startSim();
    const waiting = new Navigator({ bus: daemon.bus, codec, topics: { odom: '/nothing', cmdVel: '/nothing_cmd' } });
    waiting.start();
    const result = waiting.navigateTo({ x: 1, y: 1 }, { dataTimeoutMs: 600_000 });
    waiting.close();
    await expect(result).resolves.toMatchObject({
      reached: false,
      outcome: 'cancelled',
      message: 'navigator stopped before the robot moved',
    });
  });
});
