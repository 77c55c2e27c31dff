// The daemon on the ROS graph of a running Gazebo, driving: what test/gazebo-live/drive.live.test.ts asserts on and
// bench/gazebo.bench.ts prints. Gazebo (hand-built, test/gazebo-live/gazebo-env.ts) runs the exported maze headless,
// ros_gz_bridge carries its topics, an rclpy node publishes /map, and the daemon drives with the exported config.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BURGER, generateMaze, type Maze } from '../../sim/turtlebot-maze/core.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { waitForValue } from '../helpers/wait.ts';
import { BusClient } from '../rclpy/bus-client.ts';
import { codec } from '../rclpy/rclpy-daemon.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { clockSeconds, odomSample, trackOf, type OdomSample } from './drive-track.ts';
import { start, startGazeboWorld, startMapPublisher, type GazeboWorld } from './gazebo-world.ts';

type Twist = { linear: { x: number }; angular: { z: number } };

export interface DriveSession {
  world: GazeboWorld;
  maze: Maze;
  daemon: Ros2Daemon;
  /** The daemon's bus through its Foxglove server, subscribed to /odom, /clock and /scan. */
  bus: BusClient;
  /** The /odom samples the bus carried since the `from`th. */
  odoms(from?: number): OdomSample[];
  /** The robot time /clock last said. */
  simNow(): number;
  /** Stops the bus client, the daemon (if still running) and the world. */
  stop(): Promise<void>;
}

/**
 * How the daemon reaches Gazebo's ROS graph: its ROS 2 adapter (rclnodejs, edge.ros2.yaml; the default), or its Zenoh
 * adapter (edge.zenoh.yaml) through a zenoh-bridge-ros2dds on the graph's domain, the bridge's namespace given.
 */
export type DriveAdapter = { ros2: true } | { zenoh: { endpoint: string; namespace: string } };

/** Gazebo, ros_gz_bridge with the exported YAML, the map publisher and the daemon, with the bus followed. */
export async function startDriveSession(domain: number, adapter: DriveAdapter = { ros2: true }): Promise<DriveSession> {
  const world = await startGazeboWorld({ domain, rosGz: true });
  const maze = generateMaze({ seed: world.mazeSeed });
  const { env, dir } = world;
  let daemon: Ros2Daemon | undefined;
  let bus: BusClient | undefined;
  const stop = async () => {
    bus?.close();
    await daemon?.stop();
    await world.stop();
  };
  try {
    world.started.push(
      start(
        world.setup.parameterBridge!,
        ['--ros-args', '-p', `config_file:=${join(dir, 'bridge.yaml')}`, '-p', 'use_sim_time:=true'],
        env,
        dir,
      ),
    );
    await startMapPublisher(world);
    const file = 'zenoh' in adapter ? 'edge.zenoh.yaml' : 'edge.ros2.yaml';
    const exported = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, Record<string, unknown>>;
    const common = {
      robot: exported.robot,
      sim: exported.sim,
      agent: { ...exported.agent, navigation: { ...(exported.agent?.navigation as object), timeout_s: 900 } },
      recorder: { enabled: true },
    };
    daemon =
      'zenoh' in adapter
        ? await Ros2Daemon.start(
            env,
            { enabled: false },
            { ...common, zenoh: { ...exported.zenoh, ...adapter.zenoh, mapping: 'ros2dds' } },
          )
        : await Ros2Daemon.start(env, { ...exported.ros, rclnodejs: world.setup.rclnodejs }, common);
    const listening = await daemon.process.waitForLog((l) => l.msg === 'foxglove websocket listening', 'Foxglove');
    bus = await BusClient.connect(listening.url as string);
    for (const topic of ['/odom', '/clock', '/scan']) await bus.subscribe(topic, 120_000);
    await bus.received('/odom', 1, 120_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const connected = bus;
  return {
    world,
    maze,
    daemon,
    bus: connected,
    odoms: (from = 0) => connected.messages('/odom').slice(from).map(odomSample),
    simNow: () => clockSeconds(connected.messages('/clock').at(-1)!),
    stop,
  };
}

/** What the built-in sim's `sim turtlebot-maze --json` says of a drive. */
export interface BuiltInDrive {
  reached: boolean;
  time_s: number;
  distance_m: number;
  collisions: number;
}

/**
 * navigate_to the charging dock in Gazebo (`intent --wait`), then the built-in sim on the same maze and goal:
 * Gazebo's track from its ground-truth /odom, the wall time it took, and the built-in sim's summary.
 */
export async function driveToDock(session: DriveSession, cwd: string) {
  const { bus, daemon, maze, world } = session;
  const goal = maze.namedPoses.charging_dock!;
  const from = bus.messages('/odom').length;
  const wall = performance.now();
  const simFrom = session.simNow();
  const run = await daemon.cli(
    ['intent', 'navigate_to', '--params', JSON.stringify({ x: goal.x, y: goal.y }), '--wait', '--timeout-s', '1800'],
    1_900_000,
  );
  const wallS = (performance.now() - wall) / 1000;
  const simS = session.simNow() - simFrom;
  const gazebo = trackOf(session.odoms(from), maze);
  const builtIn = await runCli(
    ['sim', 'turtlebot-maze', '--goal', 'charging_dock', '--maze-seed', String(world.mazeSeed), '--json'],
    { cwd, timeoutMs: 600_000 },
  );
  if (builtIn.code !== 0 && builtIn.stdout.trim() === '')
    throw new Error(`the built-in sim's drive failed (${builtIn.code}): ${builtIn.stderr}`);
  const sim = JSON.parse(builtIn.stdout) as BuiltInDrive;
  return {
    run,
    goal,
    gazebo,
    wallS,
    /** Gazebo's real-time factor over the drive: its sim time over the wall time. */
    realTimeFactor: simS / wallS,
    sim,
  };
}

/**
 * Sends the burger back to whichever of the start and the dock is farther, waits until it drives at half its top
 * speed, and has the operator stop it (`auraison-edge stop`): when the zero Twist was on the bus (sim time), when
 * the burger was at rest after it, from what speed, and how the drive back ended.
 */
export async function stopWhileDriving(session: DriveSession) {
  const { bus, daemon, maze } = session;
  const here = session.odoms().at(-1)!;
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
      return session.odoms(from).find((s) => s.v > BURGER.maxLinear * 0.5);
    },
    'the burger driving back',
    600_000,
  );
  await bus.subscribe('/cmd_vel');
  const sent = session.simNow();
  const moving = session.odoms(from).at(-1)!;
  const stop = daemon.cli(['stop', '--by', 'gazebo-test', '--reason', 'stop in Gazebo', '--json']);
  // The sim time the zero Twist was on the bus (the CLI's start-up counts before it, not after).
  const stopAt = await waitForValue(
    () => {
      const zero = bus.messages('/cmd_vel').some((b) => {
        const t = codec.decode<Twist>('geometry_msgs/msg/Twist', b);
        return t.linear.x === 0 && t.angular.z === 0;
      });
      return zero && session.simNow();
    },
    "the stop's zero Twist on the bus",
    60_000,
  );
  const stopped: CliResult = await stop;
  const still = await waitForValue(
    () => session.odoms(from).find((s) => s.t >= stopAt && Math.abs(s.v) < 0.005 && Math.abs(s.w) < 0.01),
    'the burger at rest after the stop',
    120_000,
  );
  return {
    stopped,
    /** The drive back's CLI result, once the stop has ended it. */
    back,
    fromSpeed: moving.v,
    /** Sim seconds from the zero Twist on the bus to the burger at rest. */
    restAfterZeroS: still.t - stopAt,
    /** Sim seconds from `auraison-edge stop` started to the burger at rest. */
    restAfterCommandS: still.t - sent,
    coastM: Math.hypot(still.x - moving.x, still.y - moving.y),
    /** Braking from that speed at the drive's acceleration limit alone. */
    brakingS: moving.v / BURGER.maxLinearAccel,
  };
}
