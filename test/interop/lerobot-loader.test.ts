// LeRobot's own loader (lerobot 0.6.1's LeRobotDataset, run offline on the CPU by test/peers/python/lerobot_load.py)
// against ours: a v3.0 dataset exported from a recorded sim drive loads in LeRobot as we wrote it; a v3.0 dataset
// LeRobot itself wrote reads in ours as LeRobot reads it; and the v2.1 fixture, which ours reads, LeRobot
// refuses, asking for its v2.1 -> v3.0 conversion (ours reads v2.1 in test/system1/lerobot-inspect.test.ts; ours and
// LeRobot's are compared on it after that conversion in lerobot-v21.test.ts).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../helpers/cli.ts';
import { inspect, lerobotLoad, loaded, ourView, type Refusal } from './lerobot-views.ts';
import { exportDrive } from './sim-drive.ts';

const work = tempDir('interop-lerobot-loader-');
afterAll(() => work.cleanup());

describe("LeRobot's own loader (LeRobotDataset) and ours", () => {
  it(
    'agree on a v3.0 export of a recorded sim drive: episodes, frames, features, fps, tasks, first and last frame',
    { timeout: 300_000 },
    async () => {
      const out = join(work.path, 'export');
      const exported = await exportDrive(work.path, 'none', out);
      expect(exported.code, exported.stderr).toBe(0);

      const lerobot = loaded((await lerobotLoad([out]))[0]);
      expect(lerobot).toEqual(await ourView(out, work.path));
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
      expect(view).toEqual(await ourView(written, work.path));
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

      // The v2.1 fixture: ours reads it; LeRobot (0.4 to 0.6) refuses it, naming its converter.
      const ours = await inspect(g1, work.path);
      expect([ours.version, ours.totalEpisodes, ours.frames]).toEqual(['v2.1', 100, 35_965]);
      expect(lerobotG1).toMatchObject({ refused: 'BackwardCompatibilityError' });
      expect((lerobotG1 as Refusal).message).toContain('v2.1');
      expect((lerobotG1 as Refusal).message).toContain('convert_dataset_v21_to_v30');
    },
  );
});
