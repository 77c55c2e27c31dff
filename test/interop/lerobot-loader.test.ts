// LeRobot's own loader (lerobot 0.4.4's LeRobotDataset, run offline on the CPU by test/peers/python/lerobot_load.py)
// against ours: a v3.0 dataset exported from a recorded sim drive loads in LeRobot as we wrote it; a v3.0 dataset
// LeRobot itself wrote reads in ours as LeRobot reads it; and the v2.1 fixture, which ours reads, LeRobot 0.4.x
// refuses, asking for its v2.1 -> v3.0 conversion (ours reads v2.1 in test/system1/lerobot-inspect.test.ts).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readFrames } from '../../adapters/lerobot/dataset/dataset-reader.ts';
import type { LeRobotDatasetSummary } from '../../adapters/lerobot/dataset/dataset-types.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { lerobotPython, runPeer } from '../peers/index.ts';
import { exportDrive } from './sim-drive.ts';

const SCRIPT = fileURLToPath(new URL('../peers/python/lerobot_load.py', import.meta.url));
const work = tempDir('interop-lerobot-loader-');
afterAll(() => work.cleanup());

type Frame = Record<string, unknown>;

interface LeRobotView {
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
}

interface Refusal {
  refused: string;
  message: string;
}

/** Opens the datasets in LeRobotDataset, in one Python process (torch is imported once). */
async function lerobotLoad(args: string[]): Promise<(LeRobotView | Refusal)[]> {
  return JSON.parse(await runPeer(lerobotPython(), [SCRIPT, ...args])) as (LeRobotView | Refusal)[];
}

function loaded(view: LeRobotView | Refusal | undefined): LeRobotView {
  if (!view || 'refused' in view) throw new Error(`LeRobot refused the dataset: ${JSON.stringify(view)}`);
  return view;
}

async function inspect(dir: string): Promise<LeRobotDatasetSummary> {
  const result = await runMain(['lerobot', 'inspect', dir, '--json'], { cwd: work.path });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as LeRobotDatasetSummary;
}

/** What LeRobot's view of a dataset should be, from our reader: `lerobot inspect` and the frames readFrames gives. */
async function ourView(dir: string): Promise<LeRobotView> {
  const summary = await inspect(dir);
  const keys = Object.keys(summary.features).filter((k) => !['video', 'image'].includes(summary.features[k]!.dtype));
  const { columns } = await readFrames(dir, keys);
  const tasks = [...summary.tasks].sort((a, b) => a.task_index - b.task_index);
  const frame = (i: number): Frame => {
    const values: Frame = Object.fromEntries(
      keys.map((k) => {
        const v = Array.from(columns[k]![i]!);
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
  };
}

describe("LeRobot's own loader (LeRobotDataset) and ours", () => {
  it(
    'agree on a v3.0 export of a recorded sim drive: episodes, frames, features, fps, tasks, first and last frame',
    { timeout: 300_000 },
    async () => {
      const out = join(work.path, 'export');
      const exported = await exportDrive(work.path, 'none', out);
      expect(exported.code, exported.stderr).toBe(0);

      const lerobot = loaded((await lerobotLoad([out]))[0]);
      expect(lerobot).toEqual(await ourView(out));
      // What the export was asked for, as LeRobot sees it.
      expect(lerobot.version).toBe('v3.0');
      expect(lerobot.fps).toBe(30);
      expect(lerobot.episodes).toBe(2);
      expect(lerobot.episode_tasks).toEqual([['explore the maze'], ['go home']]);
      expect(lerobot.features['observation.state']).toEqual({ dtype: 'float32', shape: [4] });
      expect(lerobot.features.action).toEqual({ dtype: 'float32', shape: [2] });
      expect(lerobot.frames).toBeGreaterThan(4);
      expect(lerobot.frames).toBe(lerobot.episode_lengths[0]! + lerobot.episode_lengths[1]!);
      expect([lerobot.first.episode_index, lerobot.first.frame_index, lerobot.first.timestamp]).toEqual([0, 0, 0]);
      expect([lerobot.last.episode_index, lerobot.last.index, lerobot.last.task]).toEqual([
        1,
        lerobot.frames - 1,
        'go home',
      ]);
      expect(lerobot.last.frame_index).toBe(lerobot.episode_lengths[1]! - 1);
      expect((lerobot.first['observation.state'] as number[]).length).toBe(4);
    },
  );

  it(
    'agree on a v3.0 dataset LeRobot wrote (LeRobotDataset.create), and LeRobot refuses the v2.1 fixture',
    { timeout: 300_000 },
    async () => {
      const written = join(work.path, 'written-by-lerobot');
      const g1 = join(FIXTURES, 'lerobot', 'g1_inspire_v2.1');
      const [lerobotWritten, lerobotG1] = await lerobotLoad(['--write', written, written, g1]);

      const view = loaded(lerobotWritten);
      expect(view).toEqual(await ourView(written));
      // What lerobot_load.py wrote: 2 episodes of 5 and 7 frames at 10 fps; frame k of episode e holds state
      // [e + k/4, -k, k/3], action [k/8, e - k], reward [k/10] (float32).
      const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));
      expect([view.version, view.fps, view.episodes, view.frames]).toEqual(['v3.0', 10, 2, 12]);
      expect(view.episode_lengths).toEqual([5, 7]);
      expect(view.episode_tasks).toEqual([['pick the cube'], ['place the cube']]);
      expect(view.features['observation.state']).toEqual({ dtype: 'float32', shape: [3] });
      expect(view.first).toMatchObject({
        'observation.state': f32([0, 0, 0]),
        action: f32([0, 0]),
        task: 'pick the cube',
      });
      expect(view.last).toMatchObject({
        'observation.state': f32([1 + 6 / 4, -6, 6 / 3]),
        action: f32([6 / 8, 1 - 6]),
        'next.reward': f32([6 / 10])[0],
        index: 11,
        frame_index: 6,
        task: 'place the cube',
      });

      // The v2.1 fixture: ours reads it; LeRobot 0.4.x refuses it, naming its converter.
      const ours = await inspect(g1);
      expect([ours.version, ours.totalEpisodes, ours.frames]).toEqual(['v2.1', 100, 35_965]);
      expect(lerobotG1).toMatchObject({ refused: 'BackwardCompatibilityError' });
      expect((lerobotG1 as Refusal).message).toContain('v2.1');
      expect((lerobotG1 as Refusal).message).toContain('convert_dataset_v21_to_v30');
    },
  );
});
