import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GAZEBO_WORLD_NAME } from '../../sim/turtlebot-maze/export-world-sdf.ts';
import { tempDir } from '../helpers/cli.ts';
import { exportWorld } from '../gazebo/exported.ts';
import { waitForValue } from '../helpers/wait.ts';
import { gazeboSetup, type GazeboSetup } from './gazebo-env.ts';
import { num, parseTextProto, type TextProto } from './text-proto.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * A process of the test's with its output so far (`stdoutText` its stdout alone, `output` both streams); `stop`
 * signals its whole group and waits for it.
 */
export type Started = ChildProcess & {
  output: () => string;
  stdoutText: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
};

/** Starts `cmd` in a process group of its own, collecting its output. */
export function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Started {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async (signal: NodeJS.Signals = 'SIGINT') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, signal);
    } catch {
      return; // ESRCH: the group is gone
    }
    const late = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, 15_000);
    await exited;
    clearTimeout(late);
  };
  return Object.assign(child, { output: () => output, stdoutText: () => stdout, stop });
}

/** The maze exported for this machine's Gazebo, with the environment and display its processes run in. */
export interface GazeboWorkspace {
  setup: GazeboSetup;
  /** The environment of every process on this world: Gazebo's partition on loopback, the ROS domain, the display. */
  env: NodeJS.ProcessEnv;
  /** What `sim turtlebot-maze --export-world` wrote for this Gazebo. */
  dir: string;
  /** A folder of the test's own, removed by `stop`. */
  work: string;
  mazeSeed: number;
  /** Processes started for the workspace (Xvfb), stopped last-first by `stop`. */
  started: Started[];
  stop(): Promise<void>;
}

/**
 * Exports the maze for this machine's Gazebo (`--gazebo`, `--render-engine` as it was built), with an environment
 * of its own: a Gazebo partition on loopback, the ROS domain, and for Ogre 1.x an Xvfb display of the test's own.
 */
export async function gazeboWorkspace({
  domain,
  mazeSeed = 7,
  rosGz = false,
}: {
  domain: number;
  mazeSeed?: number;
  /** Skip where ros_gz is not built beside Gazebo. */
  rosGz?: boolean;
}) {
  const setup = gazeboSetup({ rosGz });
  const exported = await exportWorld(mazeSeed, ['--gazebo', setup.release, '--render-engine', setup.renderEngine]);
  const { dir } = exported;
  const work = tempDir('gazebo-live-');
  const partition = `auraison-${process.pid}-${domain}`;
  const env: NodeJS.ProcessEnv = {
    ...setup.base,
    IGN_PARTITION: partition,
    GZ_PARTITION: partition,
    IGN_IP: '127.0.0.1',
    GZ_IP: '127.0.0.1',
    ROS_DOMAIN_ID: String(domain),
    ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST',
    RMW_IMPLEMENTATION: 'rmw_fastrtps_cpp',
    PYTHONUNBUFFERED: '1',
  };
  const started: Started[] = [];
  const workspace: GazeboWorkspace = {
    setup,
    env,
    dir,
    work: work.path,
    mazeSeed,
    started,
    stop: async () => {
      for (const p of started.splice(0).reverse()) await p.stop();
      work.cleanup();
      exported.cleanup();
    },
  };
  if (setup.renderEngine === 'ogre') {
    const display = 100 + domain;
    started.push(start('Xvfb', [`:${display}`, '-screen', '0', '640x480x24', '-nolisten', 'tcp'], env, work.path));
    await waitForValue(() => existsSync(`/tmp/.X11-unix/X${display}`), `Xvfb on :${display}`);
    env.DISPLAY = `:${display}`;
  }
  return workspace;
}

export interface GazeboWorld extends GazeboWorkspace {
  server: Started;
  /** The next message on a Gazebo topic, as `ign|gz topic -e -n 1` prints it. */
  echo(topic: string, timeoutMs?: number): Promise<TextProto>;
  /** Publishes one message (text format) on a Gazebo topic. */
  publish(topic: string, type: string, text: string): Promise<void>;
  /** Calls a Gazebo service with an empty request (`ign|gz service`), giving the reply. */
  request(service: string, reqtype: string, reptype: string): Promise<TextProto>;
  /** The world's statistics: sim time and real-time factor, as Gazebo reports them. */
  stats(): Promise<{ simTime: number; realTimeFactor: number; iterations: number }>;
}

/** Resolves with the exit code of a process just started, once it has ended and closed its output. */
const finished = (child: Started) => new Promise<number | null>((resolve) => child.once('close', resolve));

/**
 * An rclpy node publishing the exported map on /map as nav2's map_server would (map_server is not built beside
 * the hand-built Gazebo), stopped with the workspace; resolves once the map is out.
 */
export async function startMapPublisher({ env, dir, started }: GazeboWorkspace): Promise<void> {
  const node = start('python3', [join(import.meta.dirname, 'map_publisher.py'), join(dir, 'map.yaml')], env, dir);
  started.push(node);
  await waitForValue(() => node.output().includes('published'), `the map published: ${node.output()}`, 60_000);
}

/** The maze run by this machine's Gazebo server headless (`-s -r`), in a workspace of its own. */
export async function startGazeboWorld(options: {
  domain: number;
  mazeSeed?: number;
  rosGz?: boolean;
}): Promise<GazeboWorld> {
  const workspace = await gazeboWorkspace(options);
  const { setup, env, dir } = workspace;
  const headless = setup.renderEngine === 'ogre2' ? ['--headless-rendering'] : [];
  const server = start(setup.cli, [setup.simVerb, '-s', '-r', ...headless, '-v', '3', join(dir, 'maze.sdf')], env, dir);
  workspace.started.push(server);
  const echo = (topic: string, timeoutMs = 60_000) => echoOnce(setup, env, topic, timeoutMs, server);
  try {
    await echo('/clock', 120_000);
  } catch (error) {
    const output = workspace.started.map((p) => p.output()).join('\n');
    await workspace.stop();
    throw new Error(`${errorText(error)}\n--- Gazebo's output ---\n${output.slice(-4000)}`);
  }
  return {
    ...workspace,
    server,
    echo,
    publish: async (topic, type, text) => {
      const pub = start(setup.cli, ['topic', '-t', topic, '-m', type, '-p', text], env, dir);
      const code = await finished(pub);
      if (code !== 0) throw new Error(`${setup.cli} topic -p ${topic} exited ${code}: ${pub.output()}`);
    },
    request: async (service, reqtype, reptype) => {
      const args = ['service', '-s', service, '--reqtype', reqtype, '--reptype', reptype, '--timeout', '20000'];
      const call = start(setup.cli, [...args, '--req', ''], env, dir);
      const code = await finished(call);
      if (code !== 0 || call.stdoutText().trim() === '')
        throw new Error(`${setup.cli} service ${service} exited ${code}: ${call.output()}`);
      return parseTextProto(call.stdoutText());
    },
    stats: async () => {
      const m = await echo(`/world/${GAZEBO_WORLD_NAME}/stats`);
      return {
        simTime: num(m, 'sim_time.sec') + num(m, 'sim_time.nsec') / 1e9,
        realTimeFactor: num(m, 'real_time_factor'),
        iterations: num(m, 'iterations'),
      };
    },
  };
}

/** One message from `cli topic -e -n 1`; fails with the server's last words when it has died meanwhile. */
async function echoOnce(
  setup: GazeboSetup,
  env: NodeJS.ProcessEnv,
  topic: string,
  timeoutMs: number,
  server: Started,
): Promise<TextProto> {
  const child = start(setup.cli, ['topic', '-e', '-n', '1', '-t', topic], env, process.cwd());
  const timer = setTimeout(() => void child.stop('SIGKILL'), timeoutMs);
  const code = await finished(child);
  clearTimeout(timer);
  if (server.exitCode !== null || server.signalCode !== null)
    throw new Error(`Gazebo exited (${server.exitCode ?? server.signalCode}): ${server.output().slice(-2000)}`);
  const text = child.stdoutText();
  if (code !== 0 || text.trim() === '') throw new Error(`no message on ${topic} within ${timeoutMs} ms`);
  // A topic with two publishers (Gazebo's /clock: the world's and the root one) may print a message of each.
  return parseTextProto(text.split(/\n\s*\n(?=\S)/)[0]!);
}
