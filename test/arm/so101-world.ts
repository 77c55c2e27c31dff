import { join } from 'node:path';
import { tempDir } from '../helpers/cli.ts';
import {
  SO101_JOINTS,
  So101Node,
  so101Peer,
  type So101Options,
  type So101Peer,
  type So101TraceLine,
} from '../peers/arm.ts';
import { codec, startRclpyWorld, type RclpyWorld } from '../rclpy/rclpy-daemon.ts';

/**
 * The simulated SO-101 (test/peers/arm) and the daemon beside it in a ROS 2 domain of their own, for the tests that
 * judge the daemon's arm safety by the simulator's own joint positions (the node's --trace), never by what the
 * daemon says it sent.
 */

export const TRAJECTORY_TOPIC = '/arm_controller/joint_trajectory';
export const FORWARD_TOPIC = '/forward_position_controller/commands';
export const GRIPPER_TOPIC = '/gripper_controller/commands';
export const TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory';
export const ARRAY = 'std_msgs/msg/Float64MultiArray';

/** A tick of the trace: the simulator's joint positions and the actuators' targets at wall time t and sim time (s). */
export type Tick = Required<Pick<So101TraceLine, 't' | 'sim' | 'qpos' | 'target'>>;

/** A command the node took, as its trace logged it. */
export interface TracedCommand {
  t: number;
  topic: string;
  joint_names?: string[];
  points?: { positions: number[]; time_from_start: number }[];
  data?: number[];
}

export interface ArmWorld {
  world: RclpyWorld;
  arm: So101Node;
  /** The arm's peer and the environment of its ROS 2 domain, for another node there (a spoofer). */
  peer: So101Peer;
  env: NodeJS.ProcessEnv;
  /** Each joint's [lower, upper] from the URDF the node serves on /robot_description, in SO101_JOINTS' order. */
  limits: [number, number][];
  /** The trace's ticks from line `from` on. */
  ticks(from?: number): Tick[];
  /** The commands the node took from line `from` on. */
  commands(from?: number): TracedCommand[];
  /** The trace's length now: a mark to read from. */
  mark(): number;
  close(): Promise<void>;
}

/**
 * The node first (its /robot_description is latched before the daemon starts: the control component waits only 3 s
 * for it), then `auraison-edge run` with `ros` and `extra` in the arm's environment of `domain`.
 */
export async function startArmWorld(options: {
  domain: number;
  ros: Record<string, unknown>;
  extra?: Record<string, unknown>;
  node?: So101Options;
}): Promise<ArmWorld> {
  const { domain, ros, extra = {}, node = {} } = options;
  const peer = so101Peer();
  const env = peer.env(domain);
  const dir = tempDir('so101-world-');
  let arm: So101Node | undefined;
  let world: RclpyWorld | undefined;
  try {
    arm = await So101Node.start(peer, env, { ...node, trace: join(dir.path, 'trace.jsonl') });
    world = await startRclpyWorld('jazzy', domain, ros, extra, env);
    await world.bus.subscribe('/robot_description');
    const [description] = await world.bus.received('/robot_description', 1);
    const limits = urdfLimits(codec.decode<{ data: string }>('std_msgs/msg/String', description!).data);
    const started = arm;
    const lines = (from: number) => started.trace().slice(from);
    return {
      world,
      arm,
      peer,
      env,
      limits,
      ticks: (from = 0) => lines(from).filter((l): l is Tick & So101TraceLine => l.qpos !== undefined),
      commands: (from = 0) =>
        lines(from)
          .filter((l) => typeof l.command === 'string')
          .map((l) => ({ ...l, topic: l.command }) as unknown as TracedCommand),
      mark: () => started.trace().length,
      close: async () => {
        await started.close();
        world!.bus.close();
        await world!.daemon.stop();
        dir.cleanup();
      },
    };
  } catch (error) {
    await arm?.close();
    world?.bus.close();
    await world?.daemon.stop();
    dir.cleanup();
    throw error;
  }
}

/**
 * The [lower, upper] of each of SO101_JOINTS in a URDF: each <joint> element's <limit>, read by pattern (the tests' XML
 * reader takes no text content, and the package's URDF has some), not by the daemon's own parser.
 */
export function urdfLimits(text: string): [number, number][] {
  // a robot's joints have a type; a <transmission>'s joints, which name them again, do not
  const joints = new Map<string, string>();
  for (const m of text.matchAll(/<joint\b[^>]*\bname="([^"]+)"[^>]*\btype="[^"]+"[^>]*>([\s\S]*?)<\/joint>/g))
    joints.set(m[1]!, m[2]!);
  return SO101_JOINTS.map((name) => {
    const limit = /<limit\b([^>]*)\/?>/.exec(joints.get(name) ?? '')?.[1];
    const lower = limit && /\blower="([^"]+)"/.exec(limit)?.[1];
    const upper = limit && /\bupper="([^"]+)"/.exec(limit)?.[1];
    if (!lower || !upper) throw new Error(`the URDF has no <limit lower upper> for joint ${name}`);
    return [Number(lower), Number(upper)];
  });
}

/** The largest |a[j] - b[j]| over the joints. */
export function distance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
}

/** The largest distance of any tick's positions from `from`. */
export function drift(ticks: Tick[], from: readonly number[]): number {
  return Math.max(0, ...ticks.map((t) => distance(t.qpos, from)));
}

/** The positions a command asks for (each point's, or the array's), in SO101_JOINTS' order where it names joints. */
export function commandedPositions(command: TracedCommand): { joints: number[]; positions: number[] }[] {
  if (command.points) {
    const names = command.joint_names?.length ? command.joint_names : SO101_JOINTS;
    const joints = names.map((n) => SO101_JOINTS.indexOf(n));
    return command.points.map((p) => ({ joints, positions: p.positions }));
  }
  const data = command.data ?? [];
  const joints = command.topic === GRIPPER_TOPIC ? [SO101_JOINTS.indexOf('gripper')] : data.map((_, j) => j);
  return [{ joints, positions: data }];
}
