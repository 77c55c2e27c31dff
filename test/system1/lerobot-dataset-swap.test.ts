// A dataset's file is read only as it was opened and checked: a data parquet swapped for a named pipe after the
// dataset's files were listed and checked is refused when it is opened (DuckDB's own open of the name blocked on the
// pipe for ever), and one replaced after it was opened is read as it was, as DuckDB reads the file opened.
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
