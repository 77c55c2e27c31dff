import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { copyG1Dataset, editJson, editLine, G1, rewriteParquet, type Features } from './datasets.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const copyG1 = (edit?: (meta: string, data: string) => void): string => copyG1Dataset(tmp.path, edit);

async function inspectFails(root: string): Promise<string> {
  const r = await runMain(['lerobot', 'inspect', root]);
  expect(r.stdout).toBe('');
  expect(r.code).toBe(1);
  return r.stderr.replace('auraison-edge lerobot inspect: ', '').replaceAll(root, 'DS').trim();
}

describe('auraison-edge lerobot inspect on malformed metadata', () => {
  it('names the file, the line and the key instead of a JS error', async () => {
    const cases: [(meta: string) => void, string][] = [
      [(m) => writeFileSync(join(m, 'info.json'), 'null'), 'DS/meta/info.json: expected a JSON object, got null'],
      [
        (m) => editJson(join(m, 'info.json'), (i) => ({ ...i, codebase_version: 2.1 })),
        'DS/meta/info.json: codebase_version: expected a string such as "v2.1", got 2.1',
      ],
      [
        (m) =>
          editJson(join(m, 'info.json'), (i) => {
            delete (i.features as Features).action!.dtype;
            return i;
          }),
        'DS/meta/info.json: features.action.dtype: missing',
      ],
      [
        (m) =>
          editJson(join(m, 'info.json'), (i) => {
            (i.features as Features).action!.shape = '26';
            return i;
          }),
        'DS/meta/info.json: features.action.shape: expected a list of whole numbers such as [26], got "26"',
      ],
      [
        (m) => {
          editJson(join(m, 'info.json'), (i) => {
            (i.features as Features).action!.names = 'DEEP';
            return i;
          });
          const text = readFileSync(join(m, 'info.json'), 'utf8');
          writeFileSync(join(m, 'info.json'), text.replace('"DEEP"', `${'['.repeat(20000)}"a"${']'.repeat(20000)}`));
        },
        'DS/meta/info.json: features.action.names: nested more than 8 levels deep; expected a list of names, a nested list or an object of lists',
      ],
      [
        (m) => editLine(join(m, 'episodes.jsonl'), 3, 'null'),
        'DS/meta/episodes.jsonl line 3: expected an object, got null',
      ],
      [
        (m) => editLine(join(m, 'episodes.jsonl'), 3, '{"episode_index": 2, "length": "many"}'),
        'DS/meta/episodes.jsonl line 3: length: expected a whole number >= 0, got "many"',
      ],
      [
        (m) => editLine(join(m, 'episodes_stats.jsonl'), 2, '{"episode_index": 1}'),
        'DS/meta/episodes_stats.jsonl line 2: expected an object with stats, got {"episode_index":1}',
      ],
    ];
    for (const [edit, message] of cases) expect(await inspectFails(copyG1(edit))).toBe(message);
  });

  it('names the v3.0 episodes file that lacks a column', async () => {
    const out = join(tmp.path, 'v3');
    const db = join(tmp.path, 'v3.duckdb');
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    await conn.run(
      `CREATE TABLE "/s" AS SELECT 1700000000000000000 + i * 10000000 AS log_time, [i, -i]::DOUBLE[] AS position FROM range(100) t(i)`,
    );
    conn.closeSync();
    instance.closeSync();
    const exported = await runMain([
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--feature',
      'observation.state=/s:position',
      '--window',
      '1700000000000000000,1700000000500000000',
    ]);
    expect(exported.code).toBe(0);
    const episodes = join(out, 'meta', 'episodes', 'chunk-000', 'file-000.parquet');
    await rewriteParquet(episodes, 'SELECT * EXCLUDE (length) FROM t');
    expect(await inspectFails(out)).toMatch(
      /^DS\/meta\/episodes\/chunk-000\/file-000\.parquet has no column length \(columns: episode_index, tasks, /,
    );
  });
});

describe('auraison-edge lerobot inspect checks metadata against the data', () => {
  it('warns when a declared shape disagrees with the names and with the data', async () => {
    const root = copyG1((m) =>
      editJson(join(m, 'info.json'), (i) => {
        (i.features as Features)['observation.state']!.shape = [13];
        return i;
      }),
    );
    const r = await runMain(['lerobot', 'inspect', root, '--json']);
    expect(r.code).toBe(0);
    const { warnings } = JSON.parse(r.stdout) as { warnings: string[] };
    expect(warnings).toContain(
      `${root}/meta/info.json: features.observation.state: shape [13] holds 13 values, but names lists 26`,
    );
    expect(warnings).toContain(
      `${root}/data/chunk-000/episode_000000.parquet (and 2 more): column observation.state holds 26 values per frame; features.observation.state.shape holds 13 values`,
    );
  });

  it('names the data files of listed episodes that are missing', async () => {
    // The copy holds the data of episodes 0..2 of the 100 its metadata lists.
    const r = await runMain(['lerobot', 'inspect', copyG1(), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toContain(
      '97 episodes listed in meta/episodes.jsonl have no data file: data/chunk-000/episode_000003.parquet, data/chunk-000/episode_000004.parquet, ' +
        'data/chunk-000/episode_000005.parquet, data/chunk-000/episode_000006.parquet, data/chunk-000/episode_000007.parquet, ...',
    );
  });

  it('warns on ragged, NULL and NaN rows in the data', async () => {
    const root = copyG1();
    const file = join(root, 'data', 'chunk-000', 'episode_000001.parquet');
    await rewriteParquet(
      file,
      `SELECT * REPLACE (
         CASE WHEN frame_index < 3 THEN "observation.state"[1:20] WHEN frame_index = 3 THEN NULL
              WHEN frame_index < 6 THEN list_transform("observation.state", x -> 'nan'::FLOAT) ELSE "observation.state" END AS "observation.state")
       FROM t ORDER BY frame_index`,
    );
    const r = await runMain(['lerobot', 'inspect', root]);
    expect(r.code).toBe(0);
    const files = `${root}/data/chunk-000/episode_000000.parquet (and 2 more)`;
    expect(r.stdout).toContain(
      `${files}: column observation.state holds 20 to 26 values per frame (ragged rows); features.observation.state.shape holds 26 values`,
    );
    expect(r.stdout).toContain(`${files}: column observation.state is NULL in 1 frames`);
    expect(r.stdout).toContain(`${files}: column observation.state has NaN in 2 frames`);
  });

  it('leaves a statistic that is not numbers out of the aggregate, with a warning, instead of printing NaN', async () => {
    const root = copyG1((m) => {
      const path = join(m, 'episodes_stats.jsonl');
      const line = JSON.parse(readFileSync(path, 'utf8').split('\n')[1]!) as { stats: Features };
      line.stats.action!.mean = ['x', ...(line.stats.action!.mean as number[]).slice(1)];
      editLine(path, 2, JSON.stringify(line));
    });
    const r = await runMain(['lerobot', 'inspect', root]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('NaN');
    expect(r.stdout).toContain(
      `${root}/meta/episodes_stats.jsonl line 2: action.mean element 0 is "x", not a number; left out`,
    );
    expect(r.stdout).toMatch(/action\s+mean \[-?\d/);
  });
});

describe('auraison-edge lerobot inspect statistics', () => {
  it("prints a camera's with the other features', one figure per channel", async () => {
    const r = await runMain(['lerobot', 'inspect', G1]);
    expect(r.code, r.stderr).toBe(0);
    const stats = r.stdout.slice(r.stdout.indexOf('\nstats:\n'));
    expect(stats).toMatch(/^ {2}observation\.state +mean \[/m);
    expect(stats).toMatch(
      /^ {2}observation\.images\.cam_high +mean \[0\.459, 0\.471, 0\.466\] std \[0\.162, 0\.163, 0\.189\] min \[0\.00, 0\.00, 0\.00\] max \[1\.00, 1\.00, 1\.00\] \(per channel\)$/m,
    );
  });
});

describe('auraison-edge lerobot inspect on large metadata', () => {
  it('prints a dataset of 130,000 episodes (past what a spread into Math.min can take)', async () => {
    const root = copyG1((m) => {
      const lines = Array.from({ length: 130_000 }, (_, i) =>
        JSON.stringify({ episode_index: i, tasks: ['t'], length: 1 + (i % 500) }),
      );
      writeFileSync(join(m, 'episodes.jsonl'), `${lines.join('\n')}\n`);
      rmSync(join(m, 'episodes_stats.jsonl'));
    });
    const r = await runMain(['lerobot', 'inspect', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/episodes\s+130000 \(info\.json: 100\), length 1\.\.500 frames/);
  }, 60_000);
});

describe('auraison-edge lerobot inspect prints text from the dataset safely', () => {
  it('escapes control characters in task names and episode tasks', async () => {
    const root = copyG1((m) => {
      writeFileSync(join(m, 'tasks.jsonl'), `${JSON.stringify({ task_index: 0, task: 'pick\u001b[2Jup\nnow' })}\n`);
      editLine(
        join(m, 'episodes.jsonl'),
        1,
        JSON.stringify({ episode_index: 0, tasks: ['pick\u001b[2Jup\nnow'], length: 479 }),
      );
    });
    const r = await runMain(['lerobot', 'inspect', root]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('   0  pick\\x1b[2Jup\\nnow');
    expect(r.stdout).toMatch(/^\s+0\s+479 frames {2}pick\\x1b\[2Jup\\nnow$/m);
  });
});
