// A dataset's file is read only as it was opened and checked: a data parquet swapped for a named pipe after the
// dataset's files were listed and checked is refused when it is opened (DuckDB's own open of the name blocked on the
// pipe for ever), and one replaced after it was opened is read as it was, as DuckDB reads the file opened. The files
// are held open a batch at a time: a dataset of more reads the same.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { copyG1Dataset } from './datasets.ts';

const work = tempDir('lerobot-swap-');
afterAll(() => work.cleanup());

/**
 * `lerobot inspect ROOT` in a child process whose data file of episode 0 is replaced by `replacement` at `when`
 * (dataset-swap-child.ts). A run blocked on a named pipe is killed after a minute, and its signal shows it.
 */
function inspectSwapped(root: string, when: 'after-check' | 'after-open', replacement: string) {
  const target = join(root, 'data', 'chunk-000', 'episode_000000.parquet');
  const child = spawnSync(
    process.execPath,
    [
      ...['--import', 'tsx', join(ROOT, 'test', 'system1', 'dataset-swap-child.ts')],
      ...[when, target, replacement, 'lerobot', 'inspect', root],
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
  );
  expect(child.signal, `blocked on the named pipe: ${child.stderr}`).toBeNull();
  expect(child.stdout).toMatch(/swapped: true\n$/);
  return { target, code: child.status, stdout: child.stdout.replace(/swapped: true\n$/, ''), stderr: child.stderr };
}

describe('a data file swapped', () => {
  it('for a named pipe after the files were checked, before they are read: refused when opened (exit 1), never blocked on', async () => {
    const root = copyG1Dataset(work.path);
    const fifo = join(root, 'pipe');
    const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const { target, code, stdout, stderr } = inspectSwapped(root, 'after-check', fifo);
    expect(stderr).toBe(
      `auraison-edge lerobot inspect: ${target} is a named pipe, not a file: a dataset's files are regular files; put the file itself there\n`,
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
  });

  it("for another episode's data after it was opened: read as opened, the report the same as before", async () => {
    const root = copyG1Dataset(work.path);
    const before = await runMain(['lerobot', 'inspect', root]);
    expect(before.code, before.stderr).toBe(0);
    // Episode 0's 479 frames and episodes 1 and 2's 736; episode 1's data in its place would make 1129.
    expect(before.stdout).toMatch(/^frames +1215 in 3 data files/m);
    const other = join(root, 'other.parquet');
    copyFileSync(join(root, 'data', 'chunk-000', 'episode_000001.parquet'), other);
    const { code, stdout, stderr } = inspectSwapped(root, 'after-open', other);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(before.stdout);
  });
});

describe('a dataset of more data files than are held open at once (512)', () => {
  it('is inspected and replayed whole, in episode and frame order', { timeout: 120_000 }, async () => {
    // 1,100 episodes of 3 frames, a file each; the files sort as text (episode_index=10 before =2), not by episode.
    const root = join(work.path, 'many-files');
    mkdirSync(join(root, 'meta'), { recursive: true });
    const feature = { dtype: 'float32', shape: [2], names: ['episode', 'frame'] };
    writeFileSync(
      join(root, 'meta', 'info.json'),
      JSON.stringify({
        codebase_version: 'v2.1',
        robot_type: null,
        fps: 10,
        total_episodes: 1100,
        total_frames: 3300,
        features: { 'observation.state': feature, action: feature },
      }),
    );
    const lines = Array.from({ length: 1100 }, (_, e) => JSON.stringify({ episode_index: e, tasks: ['t'], length: 3 }));
    writeFileSync(join(root, 'meta', 'episodes.jsonl'), `${lines.join('\n')}\n`);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    await conn.run(
      `COPY (SELECT e AS episode_index, f AS frame_index, [e, f]::FLOAT[] AS "observation.state", [e, f]::FLOAT[] AS action
             FROM range(1100) a(e), range(3) b(f)) TO '${join(root, 'data')}' (FORMAT parquet, PARTITION_BY (episode_index), WRITE_PARTITION_COLUMNS true)`,
    );
    conn.closeSync();
    instance.closeSync();

    const inspected = await runMain(['lerobot', 'inspect', root, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const summary = JSON.parse(inspected.stdout) as { frames: number; dataFiles: number; warnings: string[] };
    expect(summary).toMatchObject({ frames: 3300, dataFiles: 1100 });
    expect(summary.warnings.filter((w) => /episode|frames/.test(w))).toEqual([]);

    const g = new OnnxGraphBuilder();
    g.node('Identity', [g.input('obs', [1, 2])], {}, 'actions');
    g.output('actions', [1, 2]);
    const model = join(work.path, 'identity2.onnx');
    writeFileSync(model, g.toBytes());
    const outputs = join(work.path, 'outputs.jsonl');
    const replayed = await runMain(['policy', 'replay', model, root, '--outputs', outputs, '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ episodes: 1100, frames: 3300, mae: 0 });
    const fed = readFileSync(outputs, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { episode: number; frame: number; data: number[] });
    expect(fed.map((o) => [o.episode, o.frame, ...o.data])).toEqual(
      Array.from({ length: 3300 }, (_, i) => [Math.floor(i / 3), i % 3, Math.floor(i / 3), i % 3]),
    );
  });
});
