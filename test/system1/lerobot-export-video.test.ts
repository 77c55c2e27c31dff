// `lerobot export` of camera topics as LeRobot video features, from a bag of crafted camera messages: frames aligned
// by sample-and-hold (read back with our VideoFrameReader), every raw encoding and JPEG/PNG taken, each bad input
// refused with what was wrong and nothing left behind; and `lerobot inspect` reading the videos of the v2.1 fixture.
// LeRobot's own loader decoding our exports is test/interop/lerobot-video-export.test.ts.
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEpisodeFrames, VideoDecodeError, VideoFrameReader } from '../../adapters/lerobot/dataset/video-frames.ts';
import type { LeRobotDatasetSummary } from '../../adapters/lerobot/dataset/dataset-types.ts';
import type { InfoJson } from '../../adapters/lerobot/dataset/dataset-metadata.ts';
import { imageMessage, writeBag, type BagMessage } from '../helpers/camera-bag.ts';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';
import { svgBomb } from '../helpers/hostile-frames.ts';

const work = tempDir('lerobot-export-video-');
afterAll(() => work.cleanup());
const config = join(work.path, 'edge.yaml');
const T0 = 1_700_000_000_000_000_000n;
const ms = (n: number) => T0 + BigInt(n) * 1_000_000n;
const W = 64;
const H = 64;

/** A frame of one grey level everywhere. */
const level = (v: number) => new Uint8Array(W * H * 3).fill(v);
/** /cam/levels: sample i is grey 10 + 20 i, at these times (ms after T0). */
const LEVEL_TIMES = [0, 130, 210, 350, 360, 370, 520, 700, 710, 880, 950, 990];

/** A colour pattern: red across, green down, blue 128 (what each encoding's frames should decode to). */
function pattern(w = W, h = H): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([(x * 4) % 256, (y * 4) % 256, 128], (y * w + x) * 3);
  return rgb;
}

/** `rgb` in another layout, each row followed by `pad` bytes. */
function layout(rgb: Uint8Array, order: number[], alpha: boolean, pad: number): Uint8Array {
  const bpp = order.length + (alpha ? 1 : 0);
  const step = W * bpp + pad;
  const out = new Uint8Array(step * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const p = (y * W + x) * 3;
      const px = order.map((c) => rgb[p + c]!);
      if (alpha) px.push(255);
      out.set(px, y * step + x * bpp);
    }
  return out;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? 100 : 10 * Math.log10(255 ** 2 / mse);
}

const mean = (data: Uint8Array) => data.reduce((a, b) => a + b, 0) / data.length;

let jpeg: Buffer;
let jpegRgb: Uint8Array;
let pngRgb: Uint8Array;

beforeAll(async () => {
  needFfmpeg();
  const rgb = pattern();
  jpeg = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  jpegRgb = new Uint8Array(await sharp(jpeg).raw().toBuffer());
  const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
  pngRgb = rgb;
  const gray = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) gray[y * W + x] = (x + y) * 2;
  const image = (topic: string, at: number, message: unknown): BagMessage => ({
    topic,
    type: 'sensor_msgs/msg/Image',
    logTime: ms(at),
    message,
  });
  const compressed = (topic: string, at: number, format: string, data: Uint8Array): BagMessage => ({
    topic,
    type: 'sensor_msgs/msg/CompressedImage',
    logTime: ms(at),
    message: { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' }, format, data },
  });
  const thrice = (make: (at: number) => BagMessage) => [0, 100, 200].map(make);
  const messages: BagMessage[] = [
    ...LEVEL_TIMES.map((at, i) => image('/cam/levels', at, imageMessage(W, H, 'rgb8', level(10 + 20 * i)))),
    // Rows padded by 8 bytes: step is more than width x bytes per pixel.
    ...thrice((at) => image('/cam/bgr8', at, imageMessage(W, H, 'bgr8', layout(rgb, [2, 1, 0], false, 8), W * 3 + 8))),
    ...thrice((at) => image('/cam/rgba8', at, imageMessage(W, H, 'rgba8', layout(rgb, [0, 1, 2], true, 0)))),
    ...thrice((at) => image('/cam/bgra8', at, imageMessage(W, H, 'bgra8', layout(rgb, [2, 1, 0], true, 8), W * 4 + 8))),
    ...thrice((at) => image('/cam/mono8', at, imageMessage(W, H, 'mono8', gray))),
    ...thrice((at) => compressed('/cam/jpeg', at, 'rgb8; jpeg compressed bgr8', jpeg)),
    ...thrice((at) => compressed('/cam/png', at, 'png', png)),
    ...thrice((at) => image('/cam/yuv', at, imageMessage(W, H, 'yuv422', new Uint8Array(W * H * 2)))),
    // A row short: data is height x step less one row.
    ...thrice((at) =>
      image('/cam/short', at, {
        ...(imageMessage(W, H, 'rgb8', pattern()) as object),
        data: pattern().subarray(W * 3),
      }),
    ),
    compressed('/cam/truncated', 0, 'jpeg', jpeg),
    compressed('/cam/truncated', 100, 'jpeg', jpeg.subarray(0, jpeg.length - 200)),
    compressed('/cam/truncated', 200, 'jpeg', jpeg),
    // An SVG under a jpeg label, and a JPEG cut short but closed with its end-of-image marker.
    ...thrice((at) => compressed('/cam/svg', at, 'jpeg', svgBomb())),
    compressed('/cam/cut', 0, 'jpeg', jpeg),
    compressed('/cam/cut', 100, 'jpeg', Buffer.concat([jpeg.subarray(0, jpeg.length >> 1), Buffer.from([0xff, 0xd9])])),
    compressed('/cam/cut', 200, 'jpeg', jpeg),
    image('/cam/resized', 0, imageMessage(W, H, 'rgb8', pattern())),
    image('/cam/resized', 100, imageMessage(W + 32, H, 'rgb8', pattern(W + 32, H))),
    image('/cam/resized', 200, imageMessage(W, H, 'rgb8', pattern())),
    // Too small for SVT-AV1 (64 x 64 at the least): ffmpeg itself fails.
    ...thrice((at) => image('/cam/tiny', at, imageMessage(32, 24, 'rgb8', pattern(32, 24)))),
  ].sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
  const bag = join(work.path, 'cameras.mcap');
  await writeBag(bag, messages);
  writeFileSync(config, `data_dir: ${join(work.path, 'data')}\nlog: {level: warn}\n`);
  const imported = await runMain(['bag', 'import', bag, '--config', config], { cwd: work.path });
  expect(imported.code, imported.stderr).toBe(0);
}, 60_000);

/** `lerobot export OUT --feature ... --episode ...` at 10 fps on the crafted bag's lakehouse. */
function exportCameras(out: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runMain(['lerobot', 'export', out, '--config', config, '--fps', '10', '--json', ...args], {
    cwd: work.path,
    env,
  });
}

/** The dataset's frames of one video feature and episode, by our reader. */
async function frames(dir: string, key: string, episode: number) {
  const out = [];
  for await (const f of readEpisodeFrames(dir, key, episode)) out.push(f);
  return out;
}

describe('lerobot export: cameras as video features', () => {
  it(
    'holds each camera frame by sample-and-hold, as the other features, episodes packed in one file',
    { timeout: 120_000 },
    async () => {
      const out = join(work.path, 'levels');
      const exported = await exportCameras(out, [
        '--feature',
        'observation.images.cam=/cam/levels',
        '--episode',
        `${ms(0)},${ms(500)},first`,
        '--episode',
        `${ms(500)},${ms(1000)},second`,
      ]);
      expect(exported.code, exported.stderr).toBe(0);
      const report = JSON.parse(exported.stdout) as { frames: number; features: { video?: unknown }[] };
      expect(report.features[0]!.video).toEqual({ width: W, height: H, codec: 'av1' });
      // Frame k at k x 100 ms holds the latest sample at or before it; an episode ends at its last sample (370 ms
      // and 990 ms), so the first episode's frames at 400 and 500 ms and the second's at 1000 ms are cut.
      const expected = [
        [0, 0, 1, 2],
        [5, 6, 7, 8, 9],
      ];
      expect(report.frames).toBe(9);
      for (const [e, picks] of expected.entries()) {
        const got = await frames(out, 'observation.images.cam', e);
        expect(got.map((f) => [f.index, f.timestamp, f.width, f.height])).toEqual(
          picks.map((_, i) => [i, i / 10, W, H]),
        );
        expect(got.map((f) => Math.round((mean(f.data) - 10) / 20))).toEqual(picks);
      }
      const info = JSON.parse(readFileSync(join(out, 'meta', 'info.json'), 'utf8')) as InfoJson;
      expect(info.video_path).toBe('videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4');
      expect(info.features['observation.images.cam']).toEqual({
        dtype: 'video',
        shape: [H, W, 3],
        names: ['height', 'width', 'channels'],
        info: {
          'video.height': H,
          'video.width': W,
          'video.codec': 'av1',
          'video.pix_fmt': 'yuv420p',
          'video.fps': 10,
          'video.channels': 3,
          has_audio: false,
          'video.g': 2,
          'video.crf': 30,
          'video.preset': 12,
          'video.fast_decode': 0,
          'video.video_backend': 'pyav',
          'video.extra_options': {},
          is_depth_map: false,
        },
      });
      expect(readdirSync(join(out, 'videos', 'observation.images.cam', 'chunk-000'))).toEqual(['file-000.mp4']);
      const reader = await VideoFrameReader.open(out);
      expect(
        reader.episodes('observation.images.cam').map((e) => [e.episode, e.fromTimestamp, e.toTimestamp, e.length]),
      ).toEqual([
        [0, 0, 0.4, 4],
        [1, 0.4, 0.9, 5],
      ]);
      // Statistics as LeRobot's: per channel in [0, 1], over the frames (each held frame counted).
      const stats = JSON.parse(readFileSync(join(out, 'meta', 'stats.json'), 'utf8')) as Record<
        string,
        Record<string, number[][][] | number[]>
      >;
      const cam = stats['observation.images.cam']!;
      const grey = (i: number) => [[[(10 + 20 * i) / 255]], [[(10 + 20 * i) / 255]], [[(10 + 20 * i) / 255]]];
      expect(cam.min).toEqual(grey(0));
      expect(cam.max).toEqual(grey(9));
      expect(cam.count).toEqual([9]);
    },
  );

  it(
    'takes rgb8, bgr8, rgba8, bgra8 and mono8 (rows padded or not), and JPEG and PNG, in AV1 and H.264',
    { timeout: 180_000 },
    async () => {
      const rgb = pattern();
      const gray = new Uint8Array(W * H * 3);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) gray.fill((x + y) * 2, (y * W + x) * 3, (y * W + x + 1) * 3);
      const cases: [string, Uint8Array][] = [
        ['bgr8', rgb],
        ['rgba8', rgb],
        ['bgra8', rgb],
        ['mono8', gray],
        ['jpeg', jpegRgb],
        ['png', pngRgb],
      ];
      for (const codec of ['av1', 'h264']) {
        const out = join(work.path, `encodings-${codec}`);
        const exported = await exportCameras(out, [
          ...cases.flatMap(([name]) => ['--feature', `observation.images.${name}=/cam/${name}`]),
          '--window',
          `${ms(0)},${ms(200)}`,
          '--video-codec',
          codec,
        ]);
        expect(exported.code, exported.stderr).toBe(0);
        for (const [name, expected] of cases) {
          const got = await frames(out, `observation.images.${name}`, 0);
          expect(got.length, `${codec} ${name}`).toBe(3);
          for (const f of got) expect(psnr(f.data, expected), `${codec} ${name}`).toBeGreaterThanOrEqual(35);
        }
        const info = JSON.parse(readFileSync(join(out, 'meta', 'info.json'), 'utf8')) as InfoJson;
        const png = info.features['observation.images.png']!.info!;
        expect([png['video.codec'], png['video.crf'], png['video.preset']]).toEqual(
          codec === 'av1' ? ['av1', 30, 12] : ['h264', 23, null],
        );
      }
    },
  );
});

describe('lerobot export: bad camera input is refused, and nothing is left behind', () => {
  const refused = async (name: string, feature: string, problem: RegExp, env: NodeJS.ProcessEnv = {}) => {
    const out = join(work.path, `refused-${name}`);
    const result = await exportCameras(out, ['--feature', feature, '--window', `${ms(0)},${ms(200)}`], env);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toMatch(problem);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work.path).filter((f) => f.startsWith(`.refused-${name}`))).toEqual([]);
  };

  it('an encoding it does not take, naming the topic, the time and the encodings it takes', { timeout: 60_000 }, () =>
    refused(
      'yuv',
      'observation.images.cam=/cam/yuv',
      /\/cam\/yuv at 2023-11-14T22:13:20\.000Z \(1700000000000000000 ns\): encoding "yuv422" is not exported; taken: rgb8, bgr8, rgba8, bgra8, mono8/,
    ),
  );

  it('data that does not match height x step', { timeout: 60_000 }, () =>
    refused(
      'short',
      'observation.images.cam=/cam/short',
      /\/cam\/short at .*: data holds 12096 bytes; height x step is 64 x 192 = 12288/,
    ),
  );

  it('a truncated JPEG', { timeout: 60_000 }, () =>
    refused(
      'truncated',
      'observation.images.cam=/cam/truncated',
      /\/cam\/truncated at .*1700000000100000000 ns\): the jpeg image \(\d+ bytes\) does not decode: .*premature end/i,
    ),
  );

  it('an SVG labelled jpeg: never given to a loader', { timeout: 60_000 }, () =>
    refused(
      'svg',
      'observation.images.cam=/cam/svg',
      /\/cam\/svg at .*: format "jpeg" declares jpeg, but the data \(\d+ bytes, starting 3c 73 76 67\) is an SVG or other XML; only the declared format is decoded \(not exported\)/,
    ),
  );

  it('a JPEG cut short and closed with its end-of-image marker', { timeout: 60_000 }, () =>
    refused(
      'cut',
      'observation.images.cam=/cam/cut',
      /\/cam\/cut at .*1700000000100000000 ns\): the jpeg image \(\d+ bytes\) does not decode: .*premature end of data segment/i,
    ),
  );

  it('a frame of another size mid-episode', { timeout: 60_000 }, () =>
    refused(
      'resized',
      'observation.images.cam=/cam/resized',
      /feature observation\.images\.cam: \/cam\/resized at .*1700000000100000000 ns\) is 96x64 rgb24, but .* was 64x64 rgb24: a video has one frame size/,
    ),
  );

  it('a failing ffmpeg, with its own words', { timeout: 60_000 }, () =>
    refused(
      'tiny',
      'observation.images.cam=/cam/tiny',
      /encoding observation\.images\.cam \(av1\): ffmpeg failed \(exit 1\): .*Source Width must be at least 64/,
    ),
  );

  it('no ffmpeg, naming the package that brings it', { timeout: 60_000 }, () =>
    refused(
      'no-ffmpeg',
      'observation.images.cam=/cam/levels',
      /encoding observation\.images\.cam \(av1\) needs ffmpeg, which is not installed \(not found on PATH\): install it with `apt install ffmpeg`/,
      { PATH: join(work.path, 'no-such-dir') },
    ),
  );

  it(
    'a topic that is not a camera given without columns, and a camera given with columns',
    { timeout: 60_000 },
    async () => {
      await refused('not-camera', 'observation.images.cam=/rosout', /the lakehouse has no messages on \/rosout/);
      await refused(
        'columns',
        'observation.state=/cam/levels:data',
        /column "data" of \/cam\/levels is BLOB; only numbers .* \(a camera topic becomes a video: give it without columns, KEY=\/cam\/levels/,
      );
    },
  );
});

describe('lerobot inspect and VideoFrameReader on datasets with video', () => {
  it(
    'read the v2.1 fixture: its video feature, and the frames of the episodes whose files it has',
    { timeout: 120_000 },
    async () => {
      const g1 = join(FIXTURES, 'lerobot', 'g1_inspire_v2.1');
      const inspected = await runMain(['lerobot', 'inspect', g1, '--json'], { cwd: work.path });
      const summary = JSON.parse(inspected.stdout) as LeRobotDatasetSummary;
      expect(summary.videos).toEqual([
        {
          key: 'observation.images.cam_high',
          width: 640,
          height: 480,
          codec: 'av1',
          pixFmt: 'yuv420p',
          episodes: 100,
          files: 100,
        },
      ]);
      const reader = await VideoFrameReader.open(g1);
      const episode1 = reader.episodes('observation.images.cam_high').find((e) => e.episode === 1)!;
      let n = 0;
      let last: Uint8Array | undefined;
      let changes = 0;
      for await (const f of reader.frames('observation.images.cam_high', 1)) {
        expect([f.index, f.width, f.height, f.data.length]).toEqual([n, 640, 480, 640 * 480 * 3]);
        if (last && psnr(last, f.data) < 40) changes++;
        last = f.data;
        n++;
      }
      expect(n).toBe(episode1.length);
      expect(changes).toBeGreaterThan(0); // a recording, not one frame repeated
      // Episode 0's file is not in the fixture: an error naming it, not a crash.
      await expect(frames(g1, 'observation.images.cam_high', 0)).rejects.toThrow(VideoDecodeError);
      await expect(frames(g1, 'observation.images.cam_high', 0)).rejects.toThrow(
        /episode_000000\.mp4, from 0 s\): the video file is missing/,
      );
    },
  );

  it(
    'inspect --decode counts the frames decoded and reports a video that does not decode, without failing',
    { timeout: 120_000 },
    async () => {
      const copy = join(work.path, 'levels-broken');
      cpSync(join(work.path, 'levels'), copy, { recursive: true });
      const mp4 = join(copy, 'videos', 'observation.images.cam', 'chunk-000', 'file-000.mp4');
      const whole = await runMain(['lerobot', 'inspect', join(work.path, 'levels'), '--decode', '--json'], {
        cwd: work.path,
      });
      expect((JSON.parse(whole.stdout) as LeRobotDatasetSummary).decoded).toEqual([
        { key: 'observation.images.cam', episodes: 2, frames: 9, failed: [] },
      ]);
      truncateSync(mp4, Math.floor(statSync(mp4).size / 3));
      const result = await runMain(['lerobot', 'inspect', copy, '--decode'], { cwd: work.path });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/observation\.images\.cam +decoded: \d+ frames of 0 episodes; 2 did not decode/);
      expect(result.stdout).toMatch(
        /observation\.images\.cam episode 1 does not decode: observation\.images\.cam episode 1 \(.*file-000\.mp4, from 0\.4 s\): /,
      );

      // meta/episodes without the video's columns: a warning naming them; the rest is read.
      const episodes = join(copy, 'meta', 'episodes', 'chunk-000', 'file-000.parquet');
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      await conn.run(
        `COPY (SELECT * EXCLUDE ("videos/observation.images.cam/from_timestamp") FROM '${episodes}') TO '${episodes}.new' (FORMAT parquet)`,
      );
      conn.closeSync();
      instance.closeSync();
      renameSync(`${episodes}.new`, episodes);
      const summary = await runMain(['lerobot', 'inspect', copy, '--decode', '--json'], { cwd: work.path });
      const read = JSON.parse(summary.stdout) as LeRobotDatasetSummary;
      expect([read.totalEpisodes, read.videos, read.decoded]).toEqual([2, [], undefined]);
      expect(read.warnings).toContain(
        `video features: ${episodes} has no column videos/observation.images.cam/from_timestamp, which its video features need`,
      );
    },
  );
});
