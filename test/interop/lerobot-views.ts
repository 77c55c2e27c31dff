// A LeRobot dataset as LeRobot's own loader sees it (LeRobotDataset, in test/peers/python/lerobot_load.py) and the
// same view built from our reader, so the interop tests can compare them with one toEqual.
import { parsePythonJson } from '../../daemon/util/python-json.ts';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { readFrames } from '../../adapters/lerobot/dataset/dataset-frames.ts';
import type { LeRobotDatasetSummary } from '../../adapters/lerobot/dataset/dataset-types.ts';
import { runMain } from '../helpers/cli.ts';
import { lerobotPython, runPeer } from '../peers/index.ts';

const SCRIPT = fileURLToPath(new URL('../peers/python/lerobot_load.py', import.meta.url));

export type Frame = Record<string, unknown>;

export interface LeRobotView {
  version: string;
  fps: number;
  episodes: number;
  frames: number;
  features: Record<string, { dtype: string; shape: number[] }>;
  tasks: string[];
  task_indexes: number[];
  episode_tasks: string[][];
  episode_lengths: number[];
  first: Frame;
  last: Frame;
  /** The frames at the indexes asked for, when some were. */
  at?: Frame[];
}

export interface Refusal {
  refused: string;
  message: string;
}

/** Opens the datasets in LeRobotDataset, in one Python process (torch is imported once). */
export async function lerobotLoad(args: string[]): Promise<(LeRobotView | Refusal)[]> {
  // Python's json: a stats value of +inf comes as the bare token Infinity.
  return parsePythonJson(await runPeer(lerobotPython(), [SCRIPT, ...args])) as (LeRobotView | Refusal)[];
}

export function loaded(view: LeRobotView | Refusal | undefined): LeRobotView {
  if (!view || 'refused' in view) throw new Error(`LeRobot refused the dataset: ${JSON.stringify(view)}`);
  return view;
}

/** `auraison-edge lerobot inspect DIR --json`, run in `cwd`. */
export async function inspect(dir: string, cwd: string): Promise<LeRobotDatasetSummary> {
  const result = await runMain(['lerobot', 'inspect', dir, '--json'], { cwd });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as LeRobotDatasetSummary;
}

/**
 * What LeRobot's view of a dataset should be, from our reader: `lerobot inspect` and the frames readFrames gives
 * (the first, the last, and those at indexes `at`).
 */
export async function ourView(dir: string, cwd: string, at: number[] = []): Promise<LeRobotView> {
  const summary = await inspect(dir, cwd);
  const keys = Object.keys(summary.features).filter((k) => !['video', 'image'].includes(summary.features[k]!.dtype));
  const { columns } = await readFrames(dir, keys, { frames: summary.frames });
  const tasks = [...summary.tasks].sort((a, b) => a.task_index - b.task_index);
  const frame = (i: number): Frame => {
    const values: Frame = Object.fromEntries(
      keys.map((k) => {
        const v = Array.from(columns[k]!.at(i));
        return [k, summary.features[k]!.shape.length === 1 && summary.features[k]!.shape[0] === 1 ? v[0] : v];
      }),
    );
    values.task = tasks.find((t) => t.task_index === values.task_index)?.task;
    return values;
  };
  return {
    version: summary.version,
    fps: summary.fps,
    episodes: summary.totalEpisodes,
    frames: summary.frames,
    features: Object.fromEntries(
      Object.entries(summary.features).map(([k, f]) => [k, { dtype: f.dtype, shape: f.shape }]),
    ),
    tasks: tasks.map((t) => t.task),
    task_indexes: tasks.map((t) => t.task_index),
    episode_tasks: summary.episodes.map((e) => e.tasks),
    episode_lengths: summary.episodes.map((e) => e.length),
    first: frame(0),
    last: frame(summary.frames - 1),
    ...(at.length > 0 && { at: at.map(frame) }),
  };
}
