// The maze exported for Gazebo, checked by Gazebo's own SDF parser (`ign sdf -k`, SDFormat 12) and read back with
// Python's XML parser: the same walls cell for cell as the built-in sim's occupancy grid, the same named poses,
// and a burger with the built-in sim's lidar and limits. Gazebo itself is not run here.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../daemon/config/index.ts';
import {
  BURGER,
  BURGER_MODEL,
  CAMERA_OPTICAL_FRAME,
  DOCK_PLATE,
  DOCK_RGB,
  dockPlate,
  generateMaze,
  LDS_01,
  rasterize,
  type Maze,
} from '../../sim/turtlebot-maze/core.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { ignSdf, runPeer } from '../peers/index.ts';
import { exportWorld, inspect, type SdfWorld } from './exported.ts';
import { errorText } from '../../daemon/util/index.ts';

const SEEDS = [7, 3, 2024];
const exports = new Map<number, { dir: string; stdout: string; cleanup: () => void }>();

beforeAll(async () => {
  for (const seed of SEEDS) exports.set(seed, await exportWorld(seed));
});
afterAll(() => exports.forEach((e) => e.cleanup()));

const worldOf = (seed: number) => join(exports.get(seed)!.dir, 'maze.sdf');

/** The occupancy grid the built-in sim publishes on /map, drawn from the boxes a world holds instead. */
function gridOf(maze: Maze, walls: { x0: number; y0: number; x1: number; y1: number }[]) {
  return rasterize({ ...maze, walls });
}

/** `ign sdf -k`: exit code and output (the parser says "Valid." on success, the errors otherwise). */
async function ignCheck(path: string): Promise<{ ok: boolean; output: string }> {
  try {
    return { ok: true, output: await runPeer(ignSdf(), ['sdf', '-k', path]) };
  } catch (error) {
    return { ok: false, output: errorText(error) };
  }
}

describe('auraison-edge sim turtlebot-maze --export-world', () => {
  it('writes the world, bridge config, map, URDF and daemon configs, and says how to launch them', () => {
    const { stdout, dir } = exports.get(7)!;
    for (const file of ['maze.sdf', 'bridge.yaml', 'burger.urdf', 'map.yaml', 'map.pgm', 'edge.ros2.yaml'])
      expect(stdout).toContain(join(dir, file));
    expect(stdout).toContain(`ros2 launch launch/gazebo_maze.launch.py world_dir:=${dir}`);
  });

  it('refuses an empty directory with exit 2', async () => {
    const result = await runCli(['sim', 'turtlebot-maze', '--export-world', '']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--export-world: expected a directory');
  });
});

describe("Gazebo's SDF parser (ign sdf -k)", () => {
  it.each(SEEDS)('accepts the world of maze %i', async (seed) => {
    const { ok, output } = await ignCheck(worldOf(seed));
    expect(output).toContain('Valid.');
    expect(ok).toBe(true);
  });

  it('rejects a world it should: the check is not a rubber stamp', async () => {
    // Two siblings of one name is an error to SDFormat; our generator names every wall's collision and visual apart.
    const text = readFileSync(worldOf(7), 'utf8').replace('name="wall_1_visual"', 'name="wall_1"');
    const broken = join(exports.get(7)!.dir, 'broken.sdf');
    writeFileSync(broken, text);
    const { ok, output } = await ignCheck(broken);
    expect(ok).toBe(false);
    expect(output).toContain('Non-unique names');
  });
});

describe('the exported world', () => {
  it.each(SEEDS)("has the walls of maze %i, cell for cell on the built-in sim's /map grid", async (seed) => {
    const maze = generateMaze({ seed });
    const world = await inspect<SdfWorld>('sdf', worldOf(seed));
    expect(world.walls).toHaveLength(maze.walls.length);
    const expected = rasterize(maze);
    const drawn = gridOf(maze, world.walls);
    expect([drawn.width, drawn.height]).toEqual([expected.width, expected.height]);
    const differing = expected.data.reduce((n, v, i) => n + (v === drawn.data[i] ? 0 : 1), 0);
    expect(differing).toBe(0);
    expect(expected.data.some((v) => v > 0)).toBe(true);
    // Walls stand on the floor and are taller than the lidar's plane (base 0.01 m + mount 0.172 m).
    for (const w of world.walls) expect([w.z0, w.z1 > 0.2]).toEqual([0, true]);
  });

  it('differs on the grid when a wall is left out: the comparison sees one wall', async () => {
    const maze = generateMaze({ seed: 7 });
    const world = await inspect<SdfWorld>('sdf', worldOf(7));
    const expected = rasterize(maze);
    const drawn = gridOf(maze, world.walls.slice(1));
    expect(drawn.data.some((v, i) => v !== expected.data[i])).toBe(true);
  });

  it.each(SEEDS)('has the named poses of maze %i as world frames, and the burger at start', async (seed) => {
    const maze = generateMaze({ seed });
    const world = await inspect<SdfWorld>('sdf', worldOf(seed));
    expect(Object.keys(world.frames).sort()).toEqual(Object.keys(maze.namedPoses).sort());
    for (const [name, p] of Object.entries(maze.namedPoses)) {
      const [x, y, z, roll, pitch, yaw] = world.frames[name]!;
      expect([x, y, z, roll, pitch]).toEqual([p.x, p.y, 0, 0, 0].map((v) => expect.closeTo(v, 6)));
      expect(yaw).toBeCloseTo(p.yaw, 5);
    }
    const [x, y] = world.models.turtlebot3_burger!.pose;
    expect([x, y]).toEqual([expect.closeTo(maze.start.x, 6), expect.closeTo(maze.start.y, 6)]);
  });

  it("gives the burger the built-in sim's LDS-01, camera, wheels and speed limits, on Harmonic's systems", async () => {
    const world = await inspect<SdfWorld>('sdf', worldOf(7));
    expect(world.plugins).toEqual(expect.arrayContaining(['gz::sim::systems::Physics', 'gz::sim::systems::Sensors']));
    const burger = world.models.turtlebot3_burger!;
    // Each sensor where the URDF's joint puts its frame on base_link (the SDF model's one body link).
    const mount = (name: string) => [...BURGER_MODEL.joints.find((j) => j.name === name)!.xyz, 0, 0, 0];
    const camera = defaultConfig().sim.camera;
    expect(burger.sensors).toEqual([
      {
        type: 'gpu_lidar',
        topic: '/scan',
        frame: 'base_scan',
        rate: 1 / LDS_01.scanTime,
        pose: mount('scan_joint'),
        samples: LDS_01.beams,
        min_angle: LDS_01.angleMin,
        max_angle: expect.closeTo(((LDS_01.beams - 1) * 2 * Math.PI) / LDS_01.beams, 5),
        range: [LDS_01.rangeMin, LDS_01.rangeMax],
      },
      {
        type: 'camera',
        topic: '/camera/image_raw',
        frame: CAMERA_OPTICAL_FRAME,
        rate: camera.rate_hz,
        pose: mount('camera_joint'),
        horizontal_fov: expect.closeTo((camera.fov_deg * Math.PI) / 180, 5),
        image: [camera.width, camera.height, 'R8G8B8'],
      },
    ]);
    expect(burger.joints).toEqual({ wheel_left_joint: 'continuous', wheel_right_joint: 'continuous' });
    const drive = burger.plugins['gz::sim::systems::DiffDrive']!;
    expect(Number(drive.wheel_separation)).toBe(BURGER.wheelSeparation);
    expect(Number(drive.wheel_radius)).toBe(BURGER.wheelRadius);
    expect(Number(drive.max_linear_velocity)).toBe(BURGER.maxLinear);
    expect(Number(drive.max_angular_velocity)).toBe(BURGER.maxAngular);
    expect(drive.topic).toBe('/cmd_vel');
    const odom = burger.plugins['gz::sim::systems::OdometryPublisher']!;
    expect([odom.odom_frame, odom.robot_base_frame, odom.odom_topic]).toEqual(['odom', 'base_footprint', '/odom']);
  });

  it.each(SEEDS)(
    "has maze %i's charging dock plate where the built-in camera draws it, in its green, seen and not touched",
    async (seed) => {
      const maze = generateMaze({ seed });
      const plate = dockPlate(maze.walls, maze.namedPoses.charging_dock!)!;
      const { dock } = await inspect<SdfWorld>('sdf', worldOf(seed));
      const { box } = dock!;
      const [along, depth] =
        plate.axis === 'x'
          ? [
              [box.y0, box.y1],
              [box.x0, box.x1],
            ]
          : [
              [box.x0, box.x1],
              [box.y0, box.y1],
            ];
      expect(along).toEqual([expect.closeTo(plate.from, 6), expect.closeTo(plate.to, 6)]);
      // 2 mm thin, against the face of the wall the dock looks at, on the dock's side of it.
      expect(plate.positive ? depth[1] : depth[0]).toBeCloseTo(plate.face, 6);
      expect(depth[1]! - depth[0]!).toBeCloseTo(0.002, 6);
      expect([box.z0, box.z1]).toEqual([expect.closeTo(0, 6), expect.closeTo(DOCK_PLATE.height, 6)]);
      expect(dock!.ambient.map((c) => Math.round(c * 255))).toEqual([...DOCK_RGB, 255]);
      expect(dock!.collisions).toBe(0);
    },
  );

  it("has map_server's map of the maze: the built-in sim's /map, cell for cell", () => {
    const maze = generateMaze({ seed: 3 });
    const { dir } = exports.get(3)!;
    const meta = parse(readFileSync(join(dir, 'map.yaml'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ image: 'map.pgm', mode: 'trinary', resolution: 0.05, origin: [0, 0, 0], negate: 0 });
    const pgm = readFileSync(join(dir, 'map.pgm'));
    const header = /^P5\n(\d+) (\d+)\n255\n/.exec(pgm.toString('latin1'))!;
    const [width, height] = [Number(header[1]), Number(header[2])];
    const pixels = pgm.subarray(header[0].length);
    const grid = rasterize(maze);
    expect([width, height, pixels.length]).toEqual([grid.width, grid.height, grid.width * grid.height]);
    // map_server, trinary, negate 0: occupied when (255 - p) / 255 > occupied_thresh; the image's top row is +y.
    const occupancy = (p: number) => ((255 - p) / 255 > 0.65 ? 100 : (255 - p) / 255 < 0.25 ? 0 : -1);
    let differing = 0;
    for (let row = 0; row < height; row++)
      for (let col = 0; col < width; col++)
        if (occupancy(pixels[(height - 1 - row) * width + col]!) !== grid.data[row * width + col]) differing++;
    expect(differing).toBe(0);
  });

  it.each(['ros2', 'zenoh'])(
    "writes an edge.%s.yaml the daemon accepts, with the sim off, the maze's named poses and a Gazebo-wide odometry watchdog",
    async (adapter) => {
      const { dir } = exports.get(2024)!;
      const file = join(dir, `edge.${adapter}.yaml`);
      const check = await runCli(['config', 'check', '--config', file]);
      expect(check.stdout + check.stderr).toContain('valid');
      expect(check.code).toBe(0);
      const config = parse(readFileSync(file, 'utf8')) as {
        sim: { enabled: boolean };
        agent: { named_poses: Record<string, { x: number; y: number }>; navigation: { odom_timeout_ms: number } };
      } & Record<string, { enabled: boolean; publish: string[] }>;
      expect(config.sim.enabled).toBe(false);
      // A Gazebo below real time leaves wall-time gaps in /odom that the 500 ms default takes for a dead driver.
      expect(config.agent.navigation.odom_timeout_ms).toBe(3000);
      const maze = generateMaze({ seed: 2024 });
      expect(config.agent.named_poses).toEqual(
        Object.fromEntries(Object.entries(maze.namedPoses).map(([k, p]) => [k, { x: p.x, y: p.y }])),
      );
      const link = config[adapter === 'ros2' ? 'ros' : 'zenoh']!;
      expect([link.enabled, link.publish]).toEqual([true, ['/cmd_vel']]);
    },
  );
});

describe('--export-world --gazebo fortress --render-engine ogre', () => {
  let fortress: { dir: string; stdout: string; cleanup: () => void };
  beforeAll(async () => {
    fortress = await exportWorld(7, ['--gazebo', 'fortress', '--render-engine', 'ogre']);
  });
  afterAll(() => fortress.cleanup());

  it("writes the same maze on Fortress's system names, frame element and render engine, which ign sdf -k accepts", async () => {
    const path = join(fortress.dir, 'maze.sdf');
    expect((await ignCheck(path)).output).toContain('Valid.');
    const world = await inspect<SdfWorld>('sdf', path);
    const harmonic = await inspect<SdfWorld>('sdf', worldOf(7));
    expect(world.walls).toEqual(harmonic.walls);
    expect(world.plugins).toEqual(harmonic.plugins.map((p) => p.replace('gz::sim::', 'ignition::gazebo::')));
    const burger = world.models.turtlebot3_burger!;
    expect(burger.sensors).toEqual(harmonic.models.turtlebot3_burger!.sensors);
    // Revolute without limits: Debian's ignition-physics 5.1 makes a continuous joint fixed in DART.
    expect(burger.joints).toEqual({ wheel_left_joint: 'revolute', wheel_right_joint: 'revolute' });
    expect(Object.keys(burger.plugins)).toEqual([
      'ignition::gazebo::systems::DiffDrive',
      'ignition::gazebo::systems::OdometryPublisher',
      'ignition::gazebo::systems::JointStatePublisher',
    ]);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('<render_engine>ogre</render_engine>');
    expect(text).not.toMatch(/gz-sim-|gz::sim::|gz_frame_id/);
    expect(text.match(/filename="ignition-gazebo-[a-z-]+-system"/g)).toHaveLength(7);
  });

  it("bridges Fortress's ignition.msgs types, on the same topics", () => {
    const read = (dir: string) =>
      parse(readFileSync(join(dir, 'bridge.yaml'), 'utf8')) as { gz_type_name: string; ros_topic_name: string }[];
    const ours = read(fortress.dir);
    const harmonic = read(exports.get(7)!.dir);
    expect(ours.map((e) => e.ros_topic_name)).toEqual(harmonic.map((e) => e.ros_topic_name));
    expect(ours.map((e) => e.gz_type_name)).toEqual(
      harmonic.map((e) => e.gz_type_name.replace(/^gz\.msgs\./, 'ignition.msgs.')),
    );
  });

  it('refuses a release or engine it does not write for, and the options without --export-world, with exit 2', async () => {
    const bad = await runCli(['sim', 'turtlebot-maze', '--export-world', fortress.dir, '--gazebo', 'garden']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--gazebo: expected harmonic or fortress')]);
    const engine = await runCli(['sim', 'turtlebot-maze', '--export-world', fortress.dir, '--render-engine', 'optix']);
    expect(engine.stderr).toContain('--render-engine: expected ogre2 or ogre, got "optix"');
    const alone = await runCli(['sim', 'turtlebot-maze', '--gazebo', 'fortress']);
    expect([alone.code, alone.stderr]).toEqual([2, expect.stringContaining('go with --export-world DIR')]);
  });
});

describe("the exported world's camera", () => {
  const work = tempDir('gazebo-camera-');
  afterAll(work.cleanup);

  /** The burger's sensors and the bridged ROS topics of the world exported with `sim: {camera: ...}`. */
  async function exportedWith(camera: string) {
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, `sim: {camera: ${camera}}\n`);
    const exported = await exportWorld(7, ['--config', config]);
    try {
      const world = await inspect<SdfWorld>('sdf', join(exported.dir, 'maze.sdf'));
      const bridge = parse(readFileSync(join(exported.dir, 'bridge.yaml'), 'utf8')) as { ros_topic_name: string }[];
      return { sensors: world.models.turtlebot3_burger!.sensors, topics: bridge.map((b) => b.ros_topic_name) };
    } finally {
      exported.cleanup();
    }
  }

  it("is the config's sim.camera: its size, rate and field of view, or none with its bridge entries", async () => {
    const wide = await exportedWith('{width: 320, height: 240, rate_hz: 30, fov_deg: 90}');
    expect(wide.sensors).toContainEqual(
      expect.objectContaining({
        type: 'camera',
        rate: 30,
        image: [320, 240, 'R8G8B8'],
        horizontal_fov: expect.closeTo(Math.PI / 2, 5),
      }),
    );
    expect(wide.topics).toEqual(expect.arrayContaining(['/camera/image_raw', '/camera/camera_info']));
    const none = await exportedWith('{enabled: false}');
    expect(none.sensors.map((s) => s.type)).toEqual(['gpu_lidar']);
    expect(none.topics.filter((t) => t.startsWith('/camera'))).toEqual([]);
  });
});
