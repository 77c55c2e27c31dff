// A LeRobot v3.0 dataset exported from a recorded sim drive, read with pyarrow the way LeRobot's own loader reads
// it (test/peers/python/lerobot_v3_read.py), with no torch. LeRobot's own loader reads such an export in
// test/interop/lerobot-loader.test.ts.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { runPythonPeer } from '../peers/index.ts';
import { exportDrive } from './sim-drive.ts';

const work = tempDir('interop-lerobot-');
afterAll(() => work.cleanup());

interface LoaderView {
  version: string;
  fps: number;
  episodes: number;
  frames: number;
  total_episodes: number;
  total_frames: number;
  features: Record<string, { dtype: string; shape: number[] }>;
  tasks: string[];
  episode_tasks: string[][];
  first: Record<string, unknown>;
  last: Record<string, unknown>;
  problems: string[];
}

describe('lerobot export, read as LeRobot reads a v3.0 dataset', () => {
  it(
    'has the episodes, frames, features, fps and tasks `lerobot inspect` reports, in the layout the loader reads',
    { timeout: 300_000 },
    async () => {
      const out = join(work.path, 'dataset');
      const exported = await exportDrive(work.path, 'lz4', out, ['--json']);
      expect(exported.code, exported.stderr).toBe(0);

      const loader = await runPythonPeer<LoaderView>('lerobot_v3_read.py', [out]);
      expect(loader.problems).toEqual([]);
      const inspect = await runMain(['lerobot', 'inspect', out, '--json'], { cwd: work.path });
      const ours = JSON.parse(inspect.stdout) as {
        version: string;
        fps: number;
        totalEpisodes: number;
        totalFrames: number;
        features: Record<string, { dtype: string; shape: number[] }>;
        tasks: { task: string }[];
        episodes: { tasks: string[] }[];
      };
      expect({
        version: loader.version,
        fps: loader.fps,
        episodes: loader.episodes,
        frames: loader.frames,
        tasks: loader.tasks,
        episodeTasks: loader.episode_tasks,
      }).toEqual({
        version: ours.version,
        fps: ours.fps,
        episodes: ours.totalEpisodes,
        frames: ours.totalFrames,
        tasks: ours.tasks.map((t) => t.task),
        episodeTasks: ours.episodes.map((e) => e.tasks),
      });
      expect([loader.total_episodes, loader.total_frames]).toEqual([loader.episodes, loader.frames]);
      expect(loader.features).toEqual(
        Object.fromEntries(Object.entries(ours.features).map(([k, f]) => [k, { dtype: f.dtype, shape: f.shape }])),
      );
      expect(loader.features['observation.state']).toEqual({ dtype: 'float32', shape: [4] });
      expect(loader.episode_tasks).toEqual([['explore the maze'], ['go home']]);
      expect(loader.frames).toBeGreaterThan(4); // 3 s of sim time at speed 10: about 0.3 s of log time at 30 fps
      expect([
        loader.first.episode_index,
        loader.first.frame_index,
        loader.last.episode_index,
        loader.last.index,
      ]).toEqual([0, 0, 1, loader.frames - 1]);
    },
  );
});
