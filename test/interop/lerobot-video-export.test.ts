// LeRobot's own loader (lerobot 0.6.1's LeRobotDataset, test/peers/python/lerobot_video_check.py) decoding the videos
// of our exports with its own video backend: a recorded sim drive with its camera, exported with AV1 and with H.264,
// every frame matching the image the recorder recorded at that frame's time (sample-and-hold) within LeRobot's
// timestamp tolerance (its own check) and at PSNR >= 35 dB. And ours reading a dataset with video LeRobot wrote.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEpisodeFrames } from '../../adapters/lerobot/dataset/video-frames.ts';
import type { LeRobotDatasetSummary } from '../../adapters/lerobot/dataset/dataset-types.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { lerobotPython, runPeer } from '../peers/index.ts';
import { importDrive } from './sim-drive.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';

const work = tempDir('interop-lerobot-video-');
afterAll(() => work.cleanup());
const SCRIPT = fileURLToPath(new URL('../peers/python/lerobot_video_check.py', import.meta.url));
const KEY = 'observation.images.front';
const FPS = 30;

interface VideoCheck {
  version: string;
  fps: number;
  frames: number;
  keys: string[];
  backend: string;
  shapes: Record<string, number[]>;
  info: Record<string, Record<string, unknown>>;
  psnr: Record<string, number[]>;
  psnr_min: number | null;
  problems: string[];
}

/** LeRobot's check of the dataset at `dir` against the reference frames in `refs` (with --write: it writes both). */
async function lerobotCheck(args: string[]): Promise<VideoCheck> {
  return JSON.parse(await runPeer(lerobotPython(), [SCRIPT, ...args])) as VideoCheck;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return sum === 0 ? 100 : 10 * Math.log10((255 ** 2 * a.length) / sum);
}

/** `lerobot inspect DIR --json`. */
async function inspect(dir: string): Promise<LeRobotDatasetSummary> {
  const result = await runMain(['lerobot', 'inspect', dir, '--json'], { cwd: work.path });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as LeRobotDatasetSummary;
}

describe("a sim drive's camera exported as a LeRobot video feature, decoded by LeRobot's own loader", () => {
  let drive: Awaited<ReturnType<typeof importDrive>>;
  /** The camera's images as the bus carried them (and the recorder recorded them), by log time. */
  let images: { t: bigint; rgb: Uint8Array; width: number; height: number }[];

  beforeAll(async () => {
    needFfmpeg();
    drive = await importDrive(work.path, 'zstd');
    const codec = new MessageCodec(new DefinitionsRegistry({ distro: 'jazzy' }));
    images = drive.drive.seen
      .filter((m) => m.topic === '/camera/image_raw')
      .map((m) => {
        const image = codec.decode<{ width: number; height: number; encoding: string; data: Uint8Array }>(
          'sensor_msgs/msg/Image',
          m.data,
        );
        expect(image.encoding).toBe('rgb8');
        return { t: m.logTime, rgb: image.data, width: image.width, height: image.height };
      });
    expect(images.length).toBeGreaterThan(20); // 3 s of sim time at 15 Hz
  }, 300_000);

  for (const codec of ['av1', 'h264'] as const)
    it(
      `${codec}: LeRobot decodes every frame, each the image recorded at its time, PSNR >= 35 dB`,
      { timeout: 300_000 },
      async () => {
        const out = join(work.path, `export-${codec}`);
        // From where both features have begun: on a loaded machine the first image can come well after /odom's first
        // message, past the drive's middle, and an episode with no image would have no frame at all.
        const begun = (topic: string) =>
          drive.drive.seen
            .filter((m) => m.topic === topic)
            .reduce((t, m) => (m.logTime < t ? m.logTime : t), drive.end);
        const start = [drive.start, begun('/camera/image_raw'), begun('/joint_states')].reduce((a, b) =>
          a > b ? a : b,
        );
        const middle = (start + drive.end) / 2n;
        const windows = [
          [start, middle],
          [middle, drive.end],
        ] as const;
        const exported = await runMain(
          [
            'lerobot',
            'export',
            out,
            '--config',
            drive.drive.configFile,
            '--fps',
            String(FPS),
            '--feature',
            'observation.state=/joint_states:position,velocity',
            '--feature',
            `${KEY}=/camera/image_raw`,
            '--episode',
            `${windows[0][0]},${windows[0][1]},explore the maze`,
            '--episode',
            `${windows[1][0]},${windows[1][1]},go home`,
            '--video-codec',
            codec,
            '--json',
          ],
          { cwd: work.path },
        );
        expect(exported.code, exported.stderr).toBe(0);
        const report = JSON.parse(exported.stdout) as { episodeStartNs: string[]; frames: number };
        const summary = await inspect(out);
        const { width, height } = images[0]!;
        expect(summary.videos).toEqual([{ key: KEY, width, height, codec, pixFmt: 'yuv420p', episodes: 2, files: 1 }]);

        // The reference of each frame: the last image recorded at or before its time (frame k of an episode at
        // its window's start + k / fps, counting the frames dropped before every feature had a sample).
        const period = 1e9 / FPS;
        const refs = join(out, '..', `refs-${codec}`);
        mkdirSync(join(refs, KEY), { recursive: true });
        const expected: Uint8Array[] = [];
        summary.episodes.forEach((e, i) => {
          const first = Math.round(Number(BigInt(report.episodeStartNs[i]!) - windows[i]![0]) / period);
          for (let k = 0; k < e.length; k++) {
            const t = windows[i]![0] + BigInt(Math.round((first + k) * period));
            const image = images.filter((m) => m.t <= t).at(-1)!;
            writeFileSync(join(refs, KEY, `${expected.length}.rgb`), image.rgb);
            expected.push(image.rgb);
          }
        });
        expect(expected.length).toBe(report.frames);

        // LeRobot's default backend (torchcodec), and the one it falls back to where torchcodec does not load.
        for (const backend of ['torchcodec', 'pyav']) {
          const lerobot = await lerobotCheck(['--backend', backend, out, refs]);
          expect(lerobot.problems).toEqual([]);
          expect([lerobot.version, lerobot.fps, lerobot.frames, lerobot.keys, lerobot.backend]).toEqual([
            'v3.0',
            FPS,
            report.frames,
            [KEY],
            backend,
          ]);
          expect(lerobot.shapes[KEY]).toEqual([3, height, width]);
          expect(lerobot.info[KEY]!['video.codec']).toBe(codec);
          expect(lerobot.psnr[KEY]!.length).toBe(report.frames);
          const each = lerobot.psnr[KEY]!.map((x) => x.toFixed(1)).join(' ');
          expect(lerobot.psnr_min, `${backend}: PSNR of each frame: ${each}`).toBeGreaterThanOrEqual(35);
        }

        // Ours decodes the same frames.
        let index = 0;
        for (const e of summary.episodes)
          for await (const f of readEpisodeFrames(out, KEY, e.episode_index)) {
            expect([f.width, f.height]).toEqual([width, height]);
            expect(psnr(f.data, expected[index]!)).toBeGreaterThanOrEqual(35);
            index++;
          }
        expect(index).toBe(report.frames);
      },
    );
});

describe('ours reads a dataset with video that LeRobot wrote', () => {
  it(
    'inspect reports its video feature and VideoFrameReader decodes every frame as LeRobot (torchcodec) does',
    { timeout: 300_000 },
    async () => {
      const written = join(work.path, 'written-by-lerobot');
      const refs = join(work.path, 'written-refs');
      const lerobot = await lerobotCheck(['--backend', 'torchcodec', '--write', written, refs]);
      expect(lerobot.problems).toEqual([]);
      expect(lerobot.psnr_min).toBeGreaterThanOrEqual(35);
      const summary = await inspect(written);
      // What lerobot_video_check.py wrote: episodes of 6 and 9 frames at 10 fps, 128 x 96 AV1.
      expect(summary.videos).toEqual([
        { key: KEY, width: 128, height: 96, codec: 'av1', pixFmt: 'yuv420p', episodes: 2, files: 1 },
      ]);
      expect(summary.episodes.map((e) => e.length)).toEqual([6, 9]);
      const decoded = await runMain(['lerobot', 'inspect', written, '--decode', '--json'], { cwd: work.path });
      expect((JSON.parse(decoded.stdout) as LeRobotDatasetSummary).decoded).toEqual([
        { key: KEY, episodes: 2, frames: 15, failed: [] },
      ]);
      let index = 0;
      for (const episode of [0, 1])
        for await (const f of readEpisodeFrames(written, KEY, episode)) {
          expect([f.width, f.height, f.timestamp]).toEqual([128, 96, f.index / 10]);
          const ref = new Uint8Array(readFileSync(join(refs, KEY, `${index}.rgb`)));
          // Within a dB of what LeRobot's own decoder gets from the same frame.
          expect(psnr(f.data, ref)).toBeGreaterThan(lerobot.psnr[KEY]![index]! - 1);
          index++;
        }
      expect(index).toBe(15);
    },
  );
});
