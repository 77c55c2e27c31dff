// What a dataset may cost `lerobot inspect` and `policy replay` is bounded before the work is done: a path template
// of info.json before it is filled in, a count of episodes before they are read, a path before the file system is
// asked for it, the frames a replay reads (each episode held to the length its metadata declares) before any is read.
// Each refusal names the file, the key and what to do, in a few lines.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { copyG1Dataset, editJson, rewriteParquet } from './datasets.ts';

const tmp = tempDir('lerobot-costs-');
afterAll(() => tmp.cleanup());

/** `lerobot inspect ROOT` refuses the dataset (exit 1) with `said`, and nothing else. */
async function inspectRefuses(root: string, said: string): Promise<void> {
  const r = await runMain(['lerobot', 'inspect', root]);
  expect(r.stderr).toBe(`auraison-edge lerobot inspect: ${said}\n`);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
}

describe("info.json's path templates", () => {
  it('a field padded to 99999999 digits is refused before any path is filled in (exit 1, one line)', async () => {
    // Before: each path was 100 MB, and the message naming it 200 MB.
    for (const key of ['data_path', 'video_path'] as const) {
      const root = copyG1Dataset(tmp.path, (meta) =>
        editJson(join(meta, 'info.json'), (v) => ({
          ...v,
          [key]: String(v[key]).replace('{episode_index:06d}', '{episode_index:99999999d}'),
        })),
      );
      await inspectRefuses(
        root,
        `${join(root, 'meta', 'info.json')}: ${key}: "{episode_index:99999999d}" pads a number to 99999999 digits, more than any index has (at most 20): ` +
          `fix ${key} in meta/info.json (LeRobot writes e.g. {episode_index:06d})`,
      );
    }
  });

  it('a path with a name longer than a file system takes is refused naming the key, not with ENAMETOOLONG', async () => {
    const long = 'x'.repeat(300);
    const root = copyG1Dataset(tmp.path, (meta) =>
      editJson(join(meta, 'info.json'), (v) => ({ ...v, data_path: `data/${long}_{episode_index:06d}.parquet` })),
    );
    const name = `${long}_000000.parquet`;
    await inspectRefuses(
      root,
      `${join(root, 'meta', 'info.json')}: data_path names "data/${'x'.repeat(112)}..." (${name.length + 5} bytes) for episode 0: ` +
        `no file can have that path (it has a name of ${name.length} bytes, "${'x'.repeat(117)}..." (${name.length} bytes), ` +
        'more than a file name may have (255)); fix data_path in meta/info.json',
    );
  });
});

describe('the episodes a dataset lists', () => {
  it('more than 1,000,000 in a v3.0 meta/episodes are refused before they are read (exit 1)', async () => {
    const root = join(tmp.path, 'v3-many');
    mkdirSync(join(root, 'meta', 'episodes', 'chunk-000'), { recursive: true });
    mkdirSync(join(root, 'data', 'chunk-000'), { recursive: true });
    writeFileSync(
      join(root, 'meta', 'info.json'),
      JSON.stringify({ codebase_version: 'v3.0', robot_type: null, fps: 30, features: {} }),
    );
    const episodes = join(root, 'meta', 'episodes', 'chunk-000', 'file-000.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    await conn.run(
      `COPY (SELECT i AS episode_index, 1::BIGINT AS length, ['t'] AS tasks FROM range(1000001) t(i)) TO '${episodes}' (FORMAT parquet)`,
    );
    await conn.run(
      `COPY (SELECT 0::BIGINT AS episode_index, 0::BIGINT AS frame_index) TO '${join(root, 'data', 'chunk-000', 'file-000.parquet')}' (FORMAT parquet)`,
    );
    conn.closeSync();
    instance.closeSync();
    await inspectRefuses(
      root,
      `${episodes} lists more than 1000000 episodes, the most a dataset may (ten times the largest LeRobot dataset's): ` +
        'refused before they are read; split the dataset',
    );
  });
});

describe('the frames a replay reads', () => {
  let model: string;
  beforeAll(() => {
    // observation.state [1, 26] -> actions [1, 26], as it is.
    const g = new OnnxGraphBuilder();
    g.node('Identity', [g.input('obs', [1, 26])], {}, 'actions');
    g.output('actions', [1, 26]);
    model = join(tmp.path, 'identity.onnx');
    writeFileSync(model, g.toBytes());
  });

  it('an episode whose data holds more frames than its metadata declares: replay refuses before reading them, inspect names it', async () => {
    // Episode 0's first row 200,000 times (a few hundred kB of parquet); its metadata says 479 frames.
    const root = copyG1Dataset(tmp.path);
    await rewriteParquet(
      join(root, 'data', 'chunk-000', 'episode_000000.parquet'),
      'SELECT t.* REPLACE (r.i AS frame_index, r.i AS "index") FROM (SELECT * FROM t LIMIT 1) t, range(200000) r(i)',
    );
    const replayed = await runMain(['policy', 'replay', model, root]);
    expect(replayed.stderr).toBe(
      `auraison-edge policy replay: ${root}: episode 0 holds 200000 frames in the data, its metadata says 479: ` +
        'an episode is replayed only as its metadata declares it; refused before any frame is read. ' +
        'Fix the dataset (lerobot inspect lists what differs), or replay other episodes (--episodes)\n',
    );
    expect(replayed.code).toBe(1);
    // The other episodes hold what their metadata declares: replayed.
    const others = await runMain(['policy', 'replay', model, root, '--episodes', '1,2', '--json']);
    expect(others.code, others.stderr).toBe(0);
    expect(JSON.parse(others.stdout)).toMatchObject({ episodes: 2, frames: 393 + 343 });

    const inspected = await runMain(['lerobot', 'inspect', root, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout).warnings).toContain(
      '1 episode of the data holds other than the episode metadata says: episode 0 holds 200000 frames in the data, its metadata says 479',
    );
  });

  it('more frames than --max-frames are refused before any is read; fewer episodes fit', async () => {
    const root = copyG1Dataset(tmp.path);
    const refused = await runMain(['policy', 'replay', model, root, '--max-frames', '500']);
    expect(refused.stderr).toBe(
      `auraison-edge policy replay: ${root}: the 3 episodes to replay hold 1215 frames, more than 500 (--max-frames): ` +
        'replay fewer (--episodes), or raise --max-frames\n',
    );
    expect(refused.code).toBe(1);
    const fits = await runMain(['policy', 'replay', model, root, '--max-frames', '500', '--episodes', '1', '--json']);
    expect(fits.code, fits.stderr).toBe(0);
    expect(JSON.parse(fits.stdout)).toMatchObject({ episodes: 1, frames: 393 });
  });
});
