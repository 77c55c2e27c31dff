import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';

// Datasets, models and bags as they are found: a clone without `git lfs` holds small pointer files in
// place of the data, and a dataset may declare files it does not ship. A v2.1 dataset declaring 100 videos
// with no videos/ folder was inspected with no warning, and one whose files were LFS pointers failed with
// "line 1 is not JSON". Each says what it is now, and what to do.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const DATASET = join(FIXTURES, 'lerobot', 'g1_inspire_v2.1');
const POINTER =
  'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n';

function work(): string {
  const dir = tempDir('lfs-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

/** The fixture dataset without its videos folder. */
function datasetWithoutVideos(): string {
  const root = join(work(), 'dataset');
  cpSync(join(DATASET, 'meta'), join(root, 'meta'), { recursive: true });
  cpSync(join(DATASET, 'data'), join(root, 'data'), { recursive: true });
  return root;
}

describe('a LeRobot dataset as it is found', () => {
  it('warns about the videos its info.json declares and it does not have: how many, and the first', async () => {
    const root = datasetWithoutVideos();
    const r = await runMain(['lerobot', 'inspect', root, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { warnings } = JSON.parse(r.stdout) as { warnings: string[] };
    expect(warnings).toContain(
      'info.json declares 100 videos (video_path, per episode and video feature); 100 are absent, first videos/chunk-000/observation.images.cam_high/episode_000000.mp4 (there is no .mp4 under videos/)',
    );
  });

  it('names files that are Git LFS pointers and says to run git lfs pull', async () => {
    const root = datasetWithoutVideos();
    writeFileSync(join(root, 'meta', 'episodes.jsonl'), POINTER);
    const r = await runMain(['lerobot', 'inspect', root]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `${join(root, 'meta', 'episodes.jsonl')} is a Git LFS pointer, not the dataset file, 12345 bytes not downloaded`,
    );
    expect(r.stderr).toContain('run `git lfs pull`');
    expect(r.stderr).not.toContain('is not JSON');
  });
});

describe('an ONNX model or a bag that is a Git LFS pointer', () => {
  it('policy inspect says the model is a pointer, not that protobuf failed', async () => {
    const model = join(work(), 'policy.onnx');
    writeFileSync(model, POINTER);
    const r = await runMain(['policy', 'inspect', model]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${model} is a Git LFS pointer, not the ONNX model`);
    expect(r.stderr).toContain('run `git lfs pull`');
  });

  it('bag info says a split is a pointer, as a bare file and in a bag directory', async () => {
    const bag = join(work(), 'talker');
    cpSync(join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/talker'), bag, { recursive: true });
    const split = join(bag, 'talker.mcap');
    writeFileSync(split, POINTER);
    for (const path of [split, bag]) {
      const r = await runMain(['bag', 'info', path]);
      expect(r.code, path).toBe(1);
      expect(r.stderr, path).toContain(`${split} is a Git LFS pointer, not the`);
      expect(r.stderr, path).toContain('run `git lfs pull`');
    }
  });
});
