// `lerobot export` keeps the limits `lerobot inspect` reads with, and says so before the work starts: a camera image
// larger than a video frame may be (8K) is refused from its header, before anything is decoded or written (a 187 kB
// PNG of 8000 x 8000 took 2.3 GB and wrote a dataset inspect then refused), and an OUT or a camera key that no file
// system takes is refused before the lakehouse is read (it failed at the end with a bare ENOTDIR or ENAMETOOLONG).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageMessage, writeBag, type BagMessage } from '../helpers/camera-bag.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';

const work = tempDir('lerobot-export-limits-');
afterAll(() => work.cleanup());

const T0 = 1_700_000_000_000_000_000n;
const at = (ms: number) => T0 + BigInt(ms) * 1_000_000n;
const WINDOW = ['--window', `${T0},${at(150)}`, '--fps', '10', '--video-codec', 'h264'];
let config: string;
let png: Buffer;

beforeAll(async () => {
  needFfmpeg();
  png = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: { r: 90, g: 120, b: 30 } } })
    .png()
    .toBuffer();
  const header = { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' };
  const twice = (make: (ms: number) => BagMessage) => [0, 100].map(make);
  const messages: BagMessage[] = [
    ...twice((ms) => ({
      topic: '/cam/small',
      type: 'sensor_msgs/msg/Image',
      logTime: at(ms),
      message: imageMessage(64, 64, 'rgb8', new Uint8Array(64 * 64 * 3).fill(128)),
    })),
    ...twice((ms) => ({
      topic: '/cam/png',
      type: 'sensor_msgs/msg/CompressedImage',
      logTime: at(ms),
      message: { header, format: 'png', data: png },
    })),
    // A raw image's header says 8000 x 8000; its data is a few bytes, never looked at.
    ...twice((ms) => ({
      topic: '/cam/raw',
      type: 'sensor_msgs/msg/Image',
      logTime: at(ms),
      message: imageMessage(8000, 8000, 'rgb8', new Uint8Array(24), 24_000),
    })),
  ];
  const bag = join(work.path, 'cameras.mcap');
  await writeBag(bag, messages);
  config = join(work.path, 'edge.yaml');
  writeFileSync(config, `data_dir: ${join(work.path, 'data')}\nlog: {level: warn}\n`);
  const imported = await runMain(['bag', 'import', bag, '--config', config]);
  expect(imported.code, imported.stderr).toBe(0);
}, 120_000);

const exported = (out: string, ...features: string[]) =>
  runMain(['lerobot', 'export', out, '--config', config, ...WINDOW, ...features.flatMap((f) => ['--feature', f])]);

/** Nothing under `dir` but what was there: no OUT, no partial dataset beside it. */
const listed = (dir: string) => readdirSync(dir).sort();

describe('a camera image larger than a video frame may be', () => {
  it('a PNG of 8000 x 8000 (or a raw image that says so) is refused from its header: exit 1, nothing written', async () => {
    const dir = join(work.path, 'pixels');
    mkdirSync(dir);
    for (const topic of ['/cam/png', '/cam/raw']) {
      const r = await exported(join(dir, 'out'), `observation.images.big=${topic}`);
      expect(r.stderr).toBe(
        `auraison-edge lerobot export: feature observation.images.big: ${topic} at 2023-11-14T22:13:20.000Z (${T0} ns): ` +
          'a 8000x8000 image, more than a video frame may have (33177600 pixels, 8K, as lerobot inspect reads): ' +
          'not decoded, nothing written; export a camera topic of smaller images\n',
      );
      expect(r.code).toBe(1);
      expect(listed(dir)).toEqual([]);
    }
    // The same export of a camera of 64 x 64 writes OUT: the refusals were the image's.
    const sound = await exported(join(dir, 'out'), 'observation.images.small=/cam/small');
    expect(sound.code, sound.stderr).toBe(0);
    expect(listed(dir)).toEqual(['out']);
  });
});

describe('an OUT or camera key no file system takes, refused before the lakehouse is read', () => {
  it('OUT inside a file: exit 1, naming the file, not ENOTDIR', async () => {
    const dir = join(work.path, 'notdir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a-file'), 'x');
    const out = join(dir, 'a-file', 'out');
    const r = await exported(out, 'observation.images.small=/cam/small');
    expect(r.stderr).toBe(
      `auraison-edge lerobot export: cannot write ${out}: ${join(dir, 'a-file')} is not a folder; give a directory in a folder\n`,
    );
    expect(r.code).toBe(1);
    expect(listed(dir)).toEqual(['a-file']);
  });

  it('OUT whose name leaves no room for the partial dataset beside it: exit 1, naming the path, not ENAMETOOLONG', async () => {
    const dir = join(work.path, 'long-out');
    mkdirSync(dir);
    // 250 bytes: a name Linux takes, but `.NAME.partial-PID` is longer than 255.
    const out = join(dir, 'o'.repeat(250));
    const r = await exported(out, 'observation.images.small=/cam/small');
    expect(r.stderr).toMatch(
      new RegExp(
        `^auraison-edge lerobot export: cannot write "${dir}/\\.o+\\.\\.\\." \\(\\d+ bytes\\): it has a name of 2\\d\\d bytes, "\\.o+\\.\\.\\." \\(2\\d\\d bytes\\), ` +
          'more than a file name may have \\(255\\); give a shorter OUT or camera key\\n$',
      ),
    );
    expect(r.code).toBe(1);
    expect(listed(dir)).toEqual([]);
  });

  it('a camera key of 300 bytes: exit 2, naming the --feature', async () => {
    const dir = join(work.path, 'long-key');
    mkdirSync(dir);
    const key = 'k'.repeat(300);
    const r = await exported(join(dir, 'out'), `${key}=/cam/small`);
    expect(r.stderr).toContain(
      `--feature ${key}=/cam/small: a camera's key is its video's folder in the dataset (videos/KEY/), and "${'k'.repeat(117)}..." (300 bytes) is 300 bytes, ` +
        'more than a file name may have (255); give a shorter name such as observation.images.front',
    );
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
