// A LeRobot dataset is read only inside its folder, and an export writes only inside OUT: a video_path leading out of
// the dataset (by `..`, a symbolic link or a hard link), a named pipe in place of a video, a video of another size than
// info.json declares, and a camera key with `..` are refused by `lerobot inspect --decode`, `policy replay` and
// `lerobot export`, each naming what is wrong, with nothing read or written outside.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { imageMessage, writeBag } from '../helpers/camera-bag.ts';
import { runCli, runMain, tempDir } from '../helpers/cli.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';
import { copyG1Dataset, editJson, G1 } from './datasets.ts';

const work = tempDir('lerobot-confinement-');
const fifos: string[] = [];
afterAll(() => {
  // A reader blocked on a pipe (a regression) is let go: a writer's open ends its wait, the close its read.
  for (const fifo of fifos) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nothing reads it, as it should be.
    }
  }
  work.cleanup();
});

const CAM = 'observation.images.cam_high';
/** The fixture's video of episode 1: 393 frames of 640 x 480. */
const EPISODE_1 = join(G1, 'videos', 'chunk-000', CAM, 'episode_000001.mp4');
const VIDEO_1 = join('videos', 'chunk-000', CAM, 'episode_000001.mp4');
let model: string;

beforeAll(() => {
  needFfmpeg();
  // obs [1, 26] and a camera [1, 3, 96, 128] -> actions [1, 26]: obs plus the image's mean.
  const g = new OnnxGraphBuilder();
  const obs = g.input('obs', [1, 26]);
  const img = g.input('img', [1, 3, 96, 128]);
  g.node('Add', [obs, g.node('ReduceMean', [img], { axes: [1, 2, 3], keepdims: 0 })], {}, 'actions');
  g.output('actions', [1, 26]);
  model = join(work.path, 'camera.onnx');
  writeFileSync(model, g.toBytes());
});

/**
 * A copy of the fixture with episode 1 alone, four folders down in `work/<name>` (so that `../../../../` from it is
 * `work/<name>`), with episode 1's video in place, changed by `edit`.
 */
function dataset(name: string, edit: (root: string) => void = () => {}): string {
  const parent = join(work.path, name, 'a', 'b', 'c');
  mkdirSync(parent, { recursive: true });
  const root = copyG1Dataset(parent, (meta) => {
    const episode1 = readFileSync(join(meta, 'episodes.jsonl'), 'utf8').split('\n')[1]!;
    writeFileSync(join(meta, 'episodes.jsonl'), `${episode1}\n`);
    editJson(join(meta, 'info.json'), (v) => ({ ...v, total_episodes: 1 }));
  });
  mkdirSync(join(root, 'videos', 'chunk-000', CAM), { recursive: true });
  cpSync(EPISODE_1, join(root, VIDEO_1));
  edit(root);
  return root;
}

const info = (root: string) => join(root, 'meta', 'info.json');
const setVideoPath = (root: string, path: string) => editJson(info(root), (v) => ({ ...v, video_path: path }));
const inspect = (root: string, env: NodeJS.ProcessEnv = {}) =>
  runMain(['lerobot', 'inspect', root, '--decode'], { env });
const REPLAY = ['--input', 'obs=observation.state', '--input', `img=${CAM}`, '--episodes', '1'];
const replay = (root: string, env: NodeJS.ProcessEnv = {}) =>
  runMain(['policy', 'replay', model, root, ...REPLAY, '--json'], { env });

/** A named pipe at `path`, let go when the file's tests end. */
function mkfifo(path: string): void {
  const made = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  fifos.push(path);
}

/** `lerobot inspect --decode` and `policy replay` of `root` both refuse it (exit 1), saying `said`. */
async function expectRefused(root: string, said: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  for (const [r, command] of [
    [await inspect(root, env), 'lerobot inspect'],
    [await replay(root, env), 'policy replay'],
  ] as const) {
    expect(r.code, command).toBe(1);
    expect(r.stderr).toBe(`auraison-edge ${command}: ${said}\n`);
    expect(r.stdout).toBe('');
  }
}

/** `lerobot inspect --decode` says episode 1 does not decode, `said` (exit 0); `policy replay` refuses (exit 1). */
async function expectNotDecoded(root: string, said: string): Promise<void> {
  const inspected = await inspect(root);
  expect(inspected.code, inspected.stderr).toBe(0);
  expect(inspected.stdout).toMatch(/decoded: 0 frames of 0 episodes; 1 did not decode/);
  expect(inspected.stdout).toContain(`${CAM} episode 1 does not decode: ${said}`);
  const replayed = await replay(root);
  expect(replayed.code).toBe(1);
  expect(replayed.stderr).toContain(`auraison-edge policy replay: ${said}`);
}

describe('a dataset is read only inside its folder', () => {
  it('a sound copy decodes and replays: what the refusals below are told from', { timeout: 120_000 }, async () => {
    const root = dataset('sound');
    const inspected = await inspect(root);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/decoded: 393 frames of 1 episode\b/);
    const replayed = await replay(root);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ episodes: 1, frames: 393 });
  });

  it(
    'a video_path leading out of it by ".." is refused (exit 1), naming video_path, the path and what to do',
    { timeout: 120_000 },
    async () => {
      const root = dataset('dotdot', (root) => {
        rmVideo(root);
        setVideoPath(root, '../../../../elsewhere/secret.mp4');
      });
      mkdirSync(join(work.path, 'dotdot', 'elsewhere'));
      cpSync(EPISODE_1, join(work.path, 'dotdot', 'elsewhere', 'secret.mp4'));
      expect(existsSync(join(root, '../../../../elsewhere/secret.mp4'))).toBe(true);
      const said =
        `${info(root)}: video_path names "../../../../elsewhere/secret.mp4" for ${CAM} episode 1, outside the folder: ` +
        `a dataset's files are inside its folder (${root}); fix video_path in meta/info.json to a path inside it, or copy the file into the dataset`;
      await expectRefused(root, said);
    },
  );

  it('a video that is a symbolic link out of it is refused (exit 1), naming where it leads', async () => {
    const secret = join(work.path, 'linked', 'secret.mp4');
    const root = dataset('linked', (root) => {
      rmVideo(root);
      symlinkSync(secret, join(root, VIDEO_1));
    });
    cpSync(EPISODE_1, secret);
    await expectRefused(
      root,
      `${join(root, VIDEO_1)} resolves to ${secret}, outside the dataset's folder ${root} (a symbolic link leads there): ` +
        "a dataset's files are inside its folder; copy the file into the dataset in place of the link (cp -L)",
    );
  });
});

describe('a hard link', () => {
  const linked = (path: string, folder: string) =>
    `${path} is a hard link: the file has 2 names, 1 of them outside the dataset's folder ${folder}: ` +
    "a dataset's files are its own; replace the link with a copy (cp FILE FILE.copy && mv FILE.copy FILE)";

  it("to a file outside, as an episode's video, is refused by inspect --decode and replay (exit 1)", async () => {
    const secret = join(work.path, 'hardlinked', 'secret.mp4');
    const root = dataset('hardlinked', (root) => rmVideo(root));
    cpSync(EPISODE_1, secret);
    linkSync(secret, join(root, VIDEO_1));
    await expectRefused(root, linked(join(root, VIDEO_1), root));
  });

  it('to a file outside, as a data file, is refused by inspect (exit 1)', async () => {
    const root = dataset('hardlinked-data');
    const data = join(root, 'data', 'chunk-000', 'episode_000001.parquet');
    linkSync(data, join(work.path, 'hardlinked-data', 'elsewhere.parquet'));
    const r = await runMain(['lerobot', 'inspect', root]);
    expect(r.stderr).toBe(`auraison-edge lerobot inspect: ${linked(data, root)}\n`);
    expect(r.code).toBe(1);
  });

  it("within the folder (a deduplicated dataset) is the dataset's own: decoded", async () => {
    const root = dataset('hardlinked-inside');
    mkdirSync(join(root, 'dedup'));
    linkSync(join(root, VIDEO_1), join(root, 'dedup', 'same.mp4'));
    const inspected = await inspect(root);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/decoded: 393 frames of 1 episode\b/);
  });
});

describe('a Hugging Face hub cache snapshot', () => {
  it("links its files to its repo's blobs/, and is read; a link out of the repo is still refused", async () => {
    // The hub's layout: datasets--<org>--<name>/{blobs/<hash>, snapshots/<revision>/<path> -> ../../blobs/<hash>}.
    const repo = join(work.path, 'hub', 'datasets--lab--g1');
    const blobs = join(repo, 'blobs');
    mkdirSync(blobs, { recursive: true });
    const root = join(repo, 'snapshots', 'abc123');
    mkdirSync(dirname(root), { recursive: true });
    renameSync(dataset('hub-source'), root);
    cpSync(EPISODE_1, join(blobs, 'f00d'));
    rmSync(join(root, VIDEO_1));
    symlinkSync(relative(dirname(join(root, VIDEO_1)), join(blobs, 'f00d')), join(root, VIDEO_1));
    const inspected = await inspect(root);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/decoded: 393 frames of 1 episode\b/);

    const secret = join(work.path, 'hub', 'secret.mp4');
    cpSync(EPISODE_1, secret);
    rmSync(join(root, VIDEO_1));
    symlinkSync(secret, join(root, VIDEO_1));
    const refused = await inspect(root);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`resolves to ${secret}, outside the dataset's folder`);
  });
});

describe('a video is read as MP4 alone', () => {
  it('a playlist named .mp4 that leads to a video outside is not followed: not decoded, replay refuses (exit 1)', async () => {
    const secret = join(work.path, 'playlist', 'secret.mp4');
    const root = dataset('playlist', (root) =>
      writeFileSync(join(root, VIDEO_1), `#EXTM3U\n#EXT-X-TARGETDURATION:20\n#EXTINF:20,\n${secret}\n#EXT-X-ENDLIST\n`),
    );
    cpSync(EPISODE_1, secret);
    await expectNotDecoded(
      root,
      `reading ${CAM} episode 1 (${join(root, VIDEO_1)}, from 0 s): ffprobe failed (exit 1): [mov,mp4,m4a,3gp,3g2,mj2 @ `,
    );
  });
});

describe('a named pipe in place of a video is refused before anything opens it', () => {
  // Run as processes: before the check, ffprobe blocked on the pipe for ever, and a process can be given up on.
  const cli = (args: string[]) => runCli(args, { timeoutMs: 60_000 });

  it("as an episode's mp4, or where video_path leads: exit 1, naming the file", { timeout: 150_000 }, async () => {
    const inPlace = dataset('fifo', (root) => {
      rmVideo(root);
      mkfifo(join(root, VIDEO_1));
    });
    const named = dataset('fifo-named', (root) => {
      mkfifo(join(root, 'live.mp4'));
      setVideoPath(root, 'live.mp4');
    });
    for (const [root, file, key] of [
      [inPlace, join(inPlace, VIDEO_1), ''],
      [named, join(named, 'live.mp4'), ' (video_path in meta/info.json)'],
    ] as const) {
      const said = `${file}${key} is a named pipe, not a file: a dataset's files are regular files; put the file itself there\n`;
      const inspected = await cli(['lerobot', 'inspect', root, '--decode']);
      expect(inspected.code).toBe(1);
      expect(inspected.stderr).toBe(`auraison-edge lerobot inspect: ${said}`);
      const replayed = await cli(['policy', 'replay', model, root, ...REPLAY]);
      expect(replayed.code).toBe(1);
      expect(replayed.stderr).toBe(`auraison-edge policy replay: ${said}`);
    }
  });
});

describe('a video of another size than info.json declares', () => {
  const declare = (root: string, width: number, height: number) =>
    editJson(info(root), (v) => {
      const features = v.features as Record<string, { shape: number[]; info: Record<string, unknown> }>;
      const cam = features[CAM]!;
      features[CAM] = {
        ...cam,
        shape: [height, width, 3],
        info: { ...cam.info, 'video.width': width, 'video.height': height },
      };
      return v;
    });

  it('is not decoded: inspect --decode names both sizes and the feature, replay refuses (exit 1)', async () => {
    const root = dataset('small', (root) => declare(root, 128, 96));
    const said =
      `${CAM} episode 1 (${join(root, VIDEO_1)}, from 0 s): the video is 640x480, but info.json declares 128x96 for ${CAM} ` +
      `(features.${CAM}: video.width, video.height, shape); not decoded: fix info.json, or encode the video at that size`;
    await expectNotDecoded(root, said);
  });

  it('declared 100000x100000: the dataset is refused before anything is decoded (exit 1)', async () => {
    const root = dataset('huge', (root) => declare(root, 100_000, 100_000));
    // No ffmpeg on the PATH: a decode would have said it needs one.
    await expectRefused(
      root,
      `${info(root)}: features.${CAM} declares 100000x100000 frames, more than any camera makes (at most 33177600 pixels, 8K): ` +
        "refused before decoding; fix its video.width, video.height and shape to the video's size",
      { PATH: join(work.path, 'no-ffmpeg') },
    );
  });
});

describe('lerobot export writes only inside OUT', () => {
  it(
    'a camera key with ".." or "/" is refused (exit 2) naming the --feature, and nothing is written outside OUT',
    { timeout: 120_000 },
    async () => {
      const T0 = 1_700_000_000_000_000_000n;
      const bag = join(work.path, 'camera.mcap');
      const frame = new Uint8Array(64 * 64 * 3).fill(128);
      await writeBag(
        bag,
        [0, 100, 200].map((ms) => ({
          topic: '/camera/image_raw',
          type: 'sensor_msgs/msg/Image',
          logTime: T0 + BigInt(ms) * 1_000_000n,
          message: imageMessage(64, 64, 'rgb8', frame),
        })),
      );
      const config = join(work.path, 'export.yaml');
      writeFileSync(config, `data_dir: ${join(work.path, 'export-data')}\nlog: {level: warn}\n`);
      const imported = await runMain(['bag', 'import', bag, '--config', config]);
      expect(imported.code, imported.stderr).toBe(0);
      const cwd = join(work.path, 'export', 'a', 'b');
      mkdirSync(cwd, { recursive: true });
      const window = ['--window', `${T0},${T0 + 250_000_000n}`];
      const exported = (feature: string) =>
        runMain(['lerobot', 'export', 'out1', '--config', config, '--fps', '10', '--feature', feature, ...window], {
          cwd,
        });
      const absolute = join(work.path, 'absolute');
      for (const feature of ['../../../escape=/camera/image_raw', `${absolute}=/camera/image_raw`]) {
        const key = feature.split('=')[0]!;
        const r = await exported(feature);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(
          `--feature ${feature}: a camera's key is its video's folder in the dataset (videos/KEY/), and ${JSON.stringify(key)} is not one plain name: ` +
            'a "/" or ".." leads out of the dataset; give a name such as observation.images.front',
        );
      }
      expect(readdirSync(join(work.path, 'export'), { recursive: true, encoding: 'utf8' }).sort()).toEqual([
        'a',
        'a/b',
      ]);
      expect(existsSync(absolute)).toBe(false);
      // The same export with a plain key writes OUT: the refusals above were the key's.
      const sound = await exported('observation.images.front=/camera/image_raw');
      expect(sound.code, sound.stderr).toBe(0);
      expect(existsSync(join(cwd, 'out1', 'videos', 'observation.images.front', 'chunk-000', 'file-000.mp4'))).toBe(
        true,
      );
    },
  );
});

function rmVideo(root: string): void {
  rmSync(join(root, VIDEO_1));
}
