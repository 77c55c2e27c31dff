// The daemon on the ROS graph of a running Gazebo (hand-built, with ros_gz_bridge; test/gazebo-live/gazebo-env.ts):
// the bridge carries the exported topics, the daemon's navigate_to drives the Gazebo burger to the charging dock
// (time, distance and collisions printed beside the built-in sim's on the same route), the operator's stop brings
// it to rest (measured in sim time), and the bag it recorded imports and plays back as the live run went.
// Skips with one line where there is no Gazebo (CI).
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BURGER, generateMaze, type Maze } from '../../sim/turtlebot-maze/core.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitForValue } from '../helpers/wait.ts';
import { BusClient } from '../rclpy/bus-client.ts';
import { codec } from '../rclpy/rclpy-daemon.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { clockSeconds, odomSample, trackOf } from './drive-track.ts';
import { start, startGazeboWorld, startMapPublisher, type GazeboWorld } from './gazebo-world.ts';
import { replayedPoses } from './replayed.ts';

const DOMAIN = 11;
type Twist = { linear: { x: number }; angular: { z: number } };
const ROS_TOPICS = ['/scan', '/odom', '/tf', '/joint_states', '/clock'];
let world: GazeboWorld;
let maze: Maze;
let daemon: Ros2Daemon;
let bus: BusClient;
const work = tempDir('gazebo-drive-');

beforeAll(async () => {
  world = await startGazeboWorld({ domain: DOMAIN, rosGz: true });
  maze = generateMaze({ seed: world.mazeSeed });
  const { env, dir } = world;
  world.started.push(
    start(
      world.setup.parameterBridge!,
      ['--ros-args', '-p', `config_file:=${join(dir, 'bridge.yaml')}`, '-p', 'use_sim_time:=true'],
      env,
      dir,
    ),
  );
  await startMapPublisher(world);
  const exported = parse(readFileSync(join(dir, 'edge.ros2.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  daemon = await Ros2Daemon.start(
    env,
    { ...exported.ros, rclnodejs: world.setup.rclnodejs },
    {
      robot: exported.robot,
      sim: exported.sim,
      agent: { ...exported.agent, navigation: { timeout_s: 900 } },
      recorder: { enabled: true },
    },
  );
  const listening = await daemon.process.waitForLog((l) => l.msg === 'foxglove websocket listening', 'Foxglove');
  bus = await BusClient.connect(listening.url as string);
  for (const topic of ['/odom', '/clock', '/scan']) await bus.subscribe(topic, 120_000);
  await bus.received('/odom', 1, 120_000);
}, 600_000);

afterAll(async () => {
  bus?.close();
  await daemon?.stop();
  await world?.stop();
  work.cleanup();
});

const odoms = (from = 0) => bus.messages('/odom').slice(from).map(odomSample);
const simNow = () => clockSeconds(bus.messages('/clock').at(-1)!);

describe('the daemon driving the Gazebo burger through ros_gz_bridge', () => {
  it("has every bridged Gazebo topic on its bus under the built-in sim's names and types", async () => {
    const status = await daemon.status();
    const entries = status.topics as { topic: string; type: string }[];
    const topics = new Map(entries.map((t) => [t.topic, t.type]));
    expect(Object.fromEntries(ROS_TOPICS.map((t) => [t, topics.get(t)]))).toEqual({
      '/scan': 'sensor_msgs/msg/LaserScan',
      '/odom': 'nav_msgs/msg/Odometry',
      '/tf': 'tf2_msgs/msg/TFMessage',
      '/joint_states': 'sensor_msgs/msg/JointState',
      '/clock': 'rosgraph_msgs/msg/Clock',
    });
  });

  it('drives to the charging dock with navigate_to, as the built-in sim does on the same route', async () => {
    const goal = maze.namedPoses.charging_dock!;
    const from = bus.messages('/odom').length;
    const wall = performance.now();
    const run = await daemon.cli(
      ['intent', 'navigate_to', '--params', JSON.stringify({ x: goal.x, y: goal.y }), '--wait', '--timeout-s', '1800'],
      1_900_000,
    );
    const wallS = (performance.now() - wall) / 1000;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const gazebo = trackOf(odoms(from), maze);
    expect(Math.hypot(gazebo.end!.x - goal.x, gazebo.end!.y - goal.y)).toBeLessThan(0.25);
    const builtIn = await runCli(
      ['sim', 'turtlebot-maze', '--goal', 'charging_dock', '--maze-seed', String(world.mazeSeed), '--json'],
      { cwd: work.path, timeoutMs: 600_000 },
    );
    const sim = JSON.parse(builtIn.stdout) as {
      reached: boolean;
      time_s: number;
      distance_m: number;
      collisions: number;
    };
    console.log(
      `charging_dock: Gazebo ${gazebo.timeS.toFixed(1)} s robot time (${wallS.toFixed(0)} s wall), ` +
        `${gazebo.distanceM.toFixed(2)} m, ${gazebo.collisions} collisions, closest wall ` +
        `${gazebo.closestWallM.toFixed(3)} m; built-in sim ${sim.time_s} s, ${sim.distance_m} m, ` +
        `${sim.collisions} collisions`,
    );
    expect(sim.reached).toBe(true);
    expect(gazebo.collisions).toBe(0);
  }, 2_000_000);

  it("stops the Gazebo burger on the operator's stop, and the drive it was on ends", async () => {
    // Whichever of the start and the dock is farther from where the burger stands (the dock after the test above).
    const here = odoms().at(-1)!;
    const far = (p: { x: number; y: number }) => Math.hypot(p.x - here.x, p.y - here.y);
    const dock = maze.namedPoses.charging_dock!;
    const { x, y } = far(maze.start) > far(dock) ? maze.start : dock;
    let ended: string | undefined;
    const back = daemon
      .cli(['intent', 'navigate_to', '--params', JSON.stringify({ x, y }), '--wait', '--timeout-s', '1800'], 1_900_000)
      .then((r) => {
        ended = `the drive back ended (${r.code}) before the stop: ${r.stdout}${r.stderr}`;
        return r;
      });
    const from = bus.messages('/odom').length;
    await waitForValue(
      () => {
        if (ended) throw new Error(ended);
        return odoms(from).find((s) => s.v > BURGER.maxLinear * 0.5);
      },
      'the burger driving back',
      600_000,
    );
    await bus.subscribe('/cmd_vel');
    const sent = simNow();
    const moving = odoms(from).at(-1)!;
    const stop = daemon.cli(['stop', '--by', 'gazebo-test', '--reason', 'stop in Gazebo', '--json']);
    // The sim time the zero Twist was on the bus (the CLI's start-up counts before it, not after).
    const stopAt = await waitForValue(
      () => {
        const zero = bus.messages('/cmd_vel').some((b) => {
          const t = codec.decode<Twist>('geometry_msgs/msg/Twist', b);
          return t.linear.x === 0 && t.angular.z === 0;
        });
        return zero && simNow();
      },
      "the stop's zero Twist on the bus",
      60_000,
    );
    expect((await stop).code).toBe(0);
    const still = await waitForValue(
      () => odoms(from).find((s) => s.t >= stopAt && Math.abs(s.v) < 0.005 && Math.abs(s.w) < 0.01),
      'the burger at rest after the stop',
      120_000,
    );
    const coast = Math.hypot(still.x - moving.x, still.y - moving.y);
    console.log(
      `stop: at rest ${(still.t - stopAt).toFixed(3)} s of sim time after the zero Twist was on the bus ` +
        `(${(still.t - sent).toFixed(3)} s after \`auraison-edge stop\` was started), from ${moving.v.toFixed(3)} m/s, ` +
        `coasting ${coast.toFixed(3)} m; braking at the drive's limit takes ` +
        `${(moving.v / BURGER.maxLinearAccel).toFixed(3)} s`,
    );
    const run = await back;
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/stop/i);
    expect((await daemon.cli(['stop', '--release'])).code).toBe(0);
  }, 2_000_000);

  it('recorded a bag that imports, and whose play moves the daemon it runs in as the live run moved', async () => {
    const lastLive = odoms().at(-1)!;
    await stopChild(daemon.process.child, 'SIGINT');
    await daemon.process.exited;
    const bags = join(daemon.dir, 'data', 'bags');
    const bag = join(work.path, 'gazebo-bag');
    cpSync(join(bags, readdirSync(bags)[0]!), bag, { recursive: true });
    const info = await runCli(['bag', 'info', bag, '--json'], { cwd: work.path });
    expect(info.code, info.stderr).toBe(0);
    const counts = (JSON.parse(info.stdout) as { topics: { name: string; count: number }[] }).topics;
    for (const topic of [...ROS_TOPICS, '/map', '/cmd_vel'])
      expect(counts.find((t) => t.name === topic)?.count ?? 0, topic).toBeGreaterThan(0);
    const imported = await runCli(['bag', 'import', bag, '--config', daemon.config], { cwd: daemon.dir });
    expect(imported.code, imported.stderr).toBe(0);
    const query = await runCli(
      ['query', "SELECT count(*) AS n FROM messages WHERE topic = '/scan'", '--json', '--config', daemon.config],
      { cwd: daemon.dir },
    );
    expect(query.code, query.stderr).toBe(0);
    const rows = (JSON.parse(query.stdout) as { rows: unknown[][] }).rows;
    expect(Number(rows[0]![0])).toBeGreaterThan(0);
    const played = await replayedPoses(bag, work.path);
    const end = played.at(-1)!;
    expect(Math.hypot(end.x - lastLive.x, end.y - lastLive.y)).toBeLessThan(0.01);
    expect(played.length).toBeGreaterThan(1);
  }, 900_000);
});
