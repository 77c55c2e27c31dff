// A LeRobot v3.0 dataset exported from a recorded sim drive, read with pyarrow the way LeRobot's own loader reads
// it (test/peers/python/lerobot_v3_read.py), with no torch. LeRobot's own loader reads such an export in
// test/interop/lerobot-loader.test.ts.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { runPythonPeer } from '../peers/index.ts';
import { recordDrive } from './sim-drive.ts';

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
      const drive = await recordDrive(work.path, 'drive', { compression: 'lz4' });
      const bags = readdirSync(join(drive.dataDir, 'bags')).map((b) => join(drive.dataDir, 'bags', b));
      const config = drive.configFile;
      expect((await runMain(['bag', 'import', ...bags, '--config', config], { cwd: work.path })).code).toBe(0);
      const span = await runMain(
        ['query', 'SELECT min(log_time)::VARCHAR, max(log_time)::VARCHAR FROM "/odom"', '--json', '--config', config],
        { cwd: work.path },
      );
      const [start, end] = (JSON.parse(span.stdout) as { rows: string[][] }).rows[0]!.map(BigInt);
      const middle = (start! + end!) / 2n;
      const out = join(work.path, 'dataset');
      const exported = await runMain(
        [
          'lerobot',
          'export',
          out,
          '--config',
          config,
          '--fps',
          '30',
          '--robot-type',
          'turtlebot3_burger',
          '--feature',
          'observation.state=/joint_states:position,velocity',
          '--feature',
          'action=/odom:twist.twist.linear.x,twist.twist.angular.z',
          '--episode',
          `${start},${middle},explore the maze`,
          '--episode',
          `${middle},${end},go home`,
          '--json',
        ],
        { cwd: work.path },
      );
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
