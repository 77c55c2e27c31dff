// The v2.1 fixture as LeRobot sees it after its own v2.1 -> v3.0 conversion (lerobot 0.6.1's
// convert_dataset_v21_to_v30, local mode, offline, on a copy; then LeRobotDataset, in
// test/peers/python/lerobot_convert_v21.py) against our reader on the original v2.1 files. The converter wants a video
// for every episode and the fixture holds 2 of 100, so the copy is converted with its video feature dropped from
// meta/info.json: video frames are compared nowhere.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../helpers/cli.ts';
import { lerobotPython, runPeer } from '../peers/index.ts';
import { inspect, ourView, type LeRobotView } from './lerobot-views.ts';

const SCRIPT = fileURLToPath(new URL('../peers/python/lerobot_convert_v21.py', import.meta.url));
const G1 = join(FIXTURES, 'lerobot', 'g1_inspire_v2.1');
const work = tempDir('interop-lerobot-v21-');
afterAll(() => work.cleanup());

/** What lerobot_convert_v21.py prints. */
interface Converted {
  converted: LeRobotView;
  episode_ranges: [number, number][];
  /** Per feature, per statistic (min, max, mean, std, count): nested as the feature's shape. */
  stats: Record<string, Record<string, unknown[]>>;
  dropped: string[];
  network: string[];
}

// Frames where a conversion that joins episode files would slip: episode 0's last (it has 479 frames) and episode
// 1's first, the middle of the dataset, and the same at the joins of episodes 49 and 50, and of 98 and 99.
const AT = [478, 479, 17_982, 18_202, 18_203, 35_699, 35_700];

describe("LeRobot's own v2.1 -> v3.0 conversion and our v2.1 reader", () => {
  it(
    'agree on the v2.1 fixture: episodes, frames, fps, features, tasks, episode lengths, frame values, stats',
    { timeout: 300_000 },
    async () => {
      const [converted, ours, { stats: ourStats }] = await Promise.all([
        runPeer(lerobotPython(), [SCRIPT, G1, join(work.path, 'converted'), ...AT.map(String)]),
        ourView(G1, work.path, AT),
        inspect(G1, work.path),
      ]);
      const lerobot = JSON.parse(converted) as Converted;

      expect(lerobot.network).toEqual([]);
      expect(lerobot.dropped).toEqual(['observation.images.cam_high']);
      expect(ours.features['observation.images.cam_high']?.dtype).toBe('video');
      const { 'observation.images.cam_high': _video, ...features } = ours.features;
      expect(lerobot.converted).toEqual({ ...ours, version: 'v3.0', features });

      // The converter counts each episode's rows in its parquet file; ours takes the lengths from episodes.jsonl.
      let from = 0;
      expect(lerobot.episode_ranges).toEqual(ours.episode_lengths.map((n) => [from, (from += n)]));

      // What the fixture holds, so a reader that loses it on both sides cannot pass.
      expect([ours.version, ours.episodes, ours.frames, ours.fps]).toEqual(['v2.1', 100, 35_965, 30]);
      expect(ours.tasks).toEqual(['Pick up the yellow bottle on the table.']);
      expect(ours.features.action).toEqual({ dtype: 'float32', shape: [26] });
      expect(ours.at?.map((f) => [f.episode_index, f.frame_index, f.index])).toEqual([
        [0, 478, 478],
        [1, 0, 479],
        [49, 139, 17_982],
        [49, 359, 18_202],
        [50, 0, 18_203],
        [98, 304, 35_699],
        [99, 0, 35_700],
      ]);

      // Dataset stats: LeRobot aggregates episodes_stats.jsonl as ours does, the dropped video's included (ours
      // flattens its per-channel [3][1][1] to [3]); the standard deviations sum in another order: equal to rounding.
      const lerobotStats = Object.fromEntries(
        Object.entries(lerobot.stats).map(([k, s]) => [
          k,
          Object.fromEntries(Object.entries(s).map(([name, v]) => [name, v.flat(Infinity)])),
        ]),
      );
      expect(lerobotStats).toEqual(
        Object.fromEntries(
          Object.entries(ourStats).map(([k, s]) => [
            k,
            { ...s, ...(s.std && { std: s.std.map((v) => expect.closeTo(v, 12)) }) },
          ]),
        ),
      );
    },
  );
});
