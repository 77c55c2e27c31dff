import { join } from 'node:path';
import { ROOT, runCli, tempDir } from '../helpers/cli.ts';
import { runPeer } from '../peers/index.ts';

export const LAUNCH_DIR = join(ROOT, 'launch');
const INSPECT = join(ROOT, 'test', 'gazebo', 'inspect_files.py');

/**
 * Exports the maze of `mazeSeed` as a user does (`auraison-edge sim turtlebot-maze --export-world DIR`), with
 * `options` after it (`--gazebo fortress`, ...).
 */
export async function exportWorld(
  mazeSeed: number,
  options: string[] = [],
): Promise<{ dir: string; stdout: string; cleanup: () => void }> {
  const work = tempDir('gazebo-export-');
  const dir = join(work.path, 'world');
  const result = await runCli([
    'sim',
    'turtlebot-maze',
    '--export-world',
    dir,
    '--maze-seed',
    String(mazeSeed),
    ...options,
  ]);
  if (result.code !== 0) {
    work.cleanup();
    throw new Error(`--export-world exited ${result.code}: ${result.stderr}`);
  }
  return { dir, stdout: result.stdout, cleanup: work.cleanup };
}

/** What Python's own parsers read from a file (test/gazebo/inspect_files.py). */
export async function inspect<T>(mode: 'sdf' | 'launch-xml' | 'launch-py', path: string): Promise<T> {
  return JSON.parse(await runPeer('python3', [INSPECT, mode, path])) as T;
}

export type Box = { x0: number; y0: number; x1: number; y1: number; z0: number; z1: number };
export type SdfModel = {
  pose: number[];
  plugins: Record<string, Record<string, string>>;
  joints: Record<string, string>;
  sensors: {
    type: string;
    topic: string;
    frame: string;
    rate: number;
    /** In the model's link: x y z roll pitch yaw. */
    pose: number[];
    /** A lidar's. */
    samples?: number;
    min_angle?: number;
    max_angle?: number;
    range?: [number, number];
    /** A camera's: radians, and width, height, format. */
    horizontal_fov?: number;
    image?: [number, number, string];
  }[];
};
export type SdfWorld = {
  world: string;
  frames: Record<string, number[]>;
  walls: Box[];
  plugins: string[];
  models: Record<string, SdfModel>;
  /** The dock_plate model's visual: its box, its colour, and how many collisions the model has. */
  dock: { box: Box; ambient: number[]; collisions: number } | null;
};
