// What a dataset may cost `lerobot inspect` and `policy replay` is bounded before the work is done: a path template
// of info.json before it is filled in, a count of episodes before they are read, a path before the file system is
// asked for it. Each refusal names the file, the key and what to do, in a few lines.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { copyG1Dataset, editJson } from './datasets.ts';

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
