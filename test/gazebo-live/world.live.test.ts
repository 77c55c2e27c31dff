// The exported maze in a running Gazebo (built by hand: test/gazebo-live/gazebo-env.ts), headless: it loads and
// runs, the burger stands where the export put it with its odometry, joint states and /tf, its lidar sees the
// walls where the built-in sim's grid has them, and its diff drive takes /cmd_vel within the burger's limits.
// Skips with one line where there is no Gazebo (CI).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BURGER, generateMaze, LDS_MOUNT, Lidar, rasterize, type Maze } from '../../sim/turtlebot-maze/core.ts';
import { GAZEBO_ROBOT_NAME, GAZEBO_WORLD_NAME } from '../../sim/turtlebot-maze/export-world-sdf.ts';
import { waitForValue } from '../helpers/wait.ts';
import { startGazeboWorld, type GazeboWorld } from './gazebo-world.ts';
import { field, list, num, type TextProto } from './text-proto.ts';

const DOMAIN = 10;
let world: GazeboWorld;
let maze: Maze;

beforeAll(async () => {
  world = await startGazeboWorld({ domain: DOMAIN });
  maze = generateMaze({ seed: world.mazeSeed });
}, 180_000);
afterAll(async () => world?.stop());

const yawOf = (m: TextProto, path: string) => {
  const [z, w] = [num(m, `${path}.z`), num(m, `${path}.w`)];
  return 2 * Math.atan2(z, w);
};
const header = (m: TextProto) =>
  Object.fromEntries(list(m, 'header.data').map((d) => [(d as TextProto).key, (d as TextProto).value]));

/** Gazebo's scan against the built-in sim's exact one from `pose`: per beam, where both hit a wall. */
function compareScan(scan: TextProto, walls: Maze['walls'], pose: { x: number; y: number; yaw: number }) {
  const c = Math.cos(pose.yaw);
  const s = Math.sin(pose.yaw);
  const sensor = { x: pose.x + c * LDS_MOUNT.x - s * LDS_MOUNT.y, y: pose.y + s * LDS_MOUNT.x + c * LDS_MOUNT.y };
  const expected = new Lidar(walls, { noiseSigma: 0 }).scan({ ...sensor, yaw: pose.yaw }).ranges;
  const got = list(scan, 'ranges').map(Number);
  const errors: number[] = [];
  const signed: number[] = [];
  let hitOnlyOne = 0;
  got.forEach((r, i) => {
    const e = expected[i]!;
    if (Number.isFinite(r) && Number.isFinite(e)) {
      errors.push(Math.abs(r - e));
      signed.push(r - e);
    } else if (Number.isFinite(r) !== Number.isFinite(e)) hitOnlyOne++;
  });
  errors.sort((a, b) => a - b);
  const at = (q: number) => errors[Math.min(errors.length - 1, Math.floor(q * errors.length))] ?? NaN;
  const bias = signed.reduce((a, b) => a + b, 0) / signed.length;
  const sigma = Math.sqrt(signed.reduce((a, b) => a + (b - bias) ** 2, 0) / signed.length);
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    beams: got.length,
    compared: errors.length,
    hitOnlyOne,
    median: round(at(0.5)),
    p95: round(at(0.95)),
    bias: round(bias),
    sigma: round(sigma),
  };
}

describe('the exported maze in Gazebo', () => {
  it('runs headless: sim time goes on, at a real-time factor Gazebo reports', async () => {
    const first = await world.stats();
    const later = await waitForValue(async () => {
      const s = await world.stats();
      return s.simTime > first.simTime + 2 && s;
    }, 'two seconds of sim time');
    console.log(
      `Gazebo ${world.setup.version} (${world.setup.release}, ${world.setup.renderEngine}): real-time factor ` +
        `${later.realTimeFactor.toFixed(3)} at ${later.simTime.toFixed(1)} s of sim time`,
    );
    expect(later.iterations).toBeGreaterThan(first.iterations);
    expect(later.realTimeFactor).toBeGreaterThan(0);
  });

  it("holds every wall where the built-in sim's grid has one, as Gazebo's own scene reports it", async () => {
    const msgs = world.setup.cli === 'ign' ? 'ignition.msgs' : 'gz.msgs';
    const scene = await world.request(`/world/${GAZEBO_WORLD_NAME}/scene/info`, `${msgs}.Empty`, `${msgs}.Scene`);
    const model = list(scene, 'model').find((m) => (m as TextProto).name === 'maze') as TextProto;
    const walls = list(model, 'link')
      .flatMap((l) => list(l as TextProto, 'visual'))
      .map((v) => v as TextProto)
      .filter((v) => field(v, 'geometry.box') !== undefined)
      .map((v) => {
        const [x, y, w, h] = ['pose.position.x', 'pose.position.y', 'geometry.box.size.x', 'geometry.box.size.y'];
        const [cx, cy, sx, sy] = [num(v, x), num(v, y), num(v, w), num(v, h)];
        return { x0: cx - sx / 2, y0: cy - sy / 2, x1: cx + sx / 2, y1: cy + sy / 2 };
      });
    expect(walls).toHaveLength(maze.walls.length);
    const expected = rasterize(maze);
    const loaded = rasterize({ ...maze, walls });
    expect(loaded.data.reduce((n, v, i) => n + (v === expected.data[i] ? 0 : 1), 0)).toBe(0);
    // Another maze's grid differs from what Gazebo holds: the comparison can fail.
    const other = rasterize(generateMaze({ seed: world.mazeSeed + 1 }));
    expect(loaded.data.some((v, i) => v !== other.data[i])).toBe(true);
  });

  it("puts the burger at the maze's start, with /odom, /tf and both wheels on /joint_states", async () => {
    const odom = await world.echo('/odom');
    expect([num(odom, 'pose.position.x'), num(odom, 'pose.position.y')]).toEqual([
      expect.closeTo(maze.start.x, 2),
      expect.closeTo(maze.start.y, 2),
    ]);
    expect(yawOf(odom, 'pose.orientation')).toBeCloseTo(maze.start.yaw, 2);
    expect(header(odom)).toMatchObject({ frame_id: 'odom', child_frame_id: 'base_footprint' });
    const tf = await world.echo('/tf');
    const pose = list(tf, 'pose')[0] as TextProto;
    expect(header(pose)).toMatchObject({ frame_id: 'odom', child_frame_id: 'base_footprint' });
    const joints = await world.echo('/joint_states');
    expect(joints.name).toBe(GAZEBO_ROBOT_NAME);
    expect(list(joints, 'joint').map((j) => (j as TextProto).name)).toEqual(
      expect.arrayContaining(['wheel_left_joint', 'wheel_right_joint']),
    );
  });

  it("sees the walls with its lidar where the built-in sim's grid has them, and not another maze's", async () => {
    const scan = await world.echo('/scan');
    expect(scan.frame).toBe('base_scan');
    expect(num(scan, 'count')).toBe(360);
    const odom = await world.echo('/odom');
    const pose = {
      x: num(odom, 'pose.position.x'),
      y: num(odom, 'pose.position.y'),
      yaw: yawOf(odom, 'pose.orientation'),
    };
    const same = compareScan(scan, maze.walls, pose);
    console.log(`Gazebo's scan against the built-in sim's exact one: ${JSON.stringify(same)}`);
    expect(same.compared).toBeGreaterThan(30);
    expect(same.median).toBeLessThan(0.03);
    expect(same.p95).toBeLessThan(0.1);
    expect(same.hitOnlyOne).toBeLessThan(same.beams * 0.05);
    // The same check against another maze's walls fails: it is not satisfied by any scan.
    const other = compareScan(scan, generateMaze({ seed: world.mazeSeed + 1 }).walls, pose);
    expect(other.median > 0.03 || other.hitOnlyOne >= other.beams * 0.05 || other.p95 > 0.1).toBe(true);
  });

  it("turns under /cmd_vel at the burger's limit when asked for more, and stops on a zero", async () => {
    const twist = (z: number) =>
      world.publish('/cmd_vel', `${world.setup.cli === 'ign' ? 'ignition' : 'gz'}.msgs.Twist`, `angular: {z: ${z}}`);
    await twist(10);
    const turning = await waitForValue(
      async () => {
        await twist(10);
        const odom = await world.echo('/odom');
        return num(odom, 'twist.angular.z') > BURGER.maxAngular * 0.9 && odom;
      },
      'the burger turning',
      60_000,
    );
    expect(num(turning, 'twist.angular.z')).toBeLessThan(BURGER.maxAngular * 1.05);
    await twist(0);
    await waitForValue(
      async () => {
        await twist(0);
        return Math.abs(num(await world.echo('/odom'), 'twist.angular.z')) < 0.01;
      },
      'the burger still again',
      60_000,
    );
  });
});
