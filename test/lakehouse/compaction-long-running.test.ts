import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { CompactionJob } from '../../daemon/lakehouse/compaction-job.ts';
import { compactLakehouse, CompactionError } from '../../daemon/lakehouse/compaction.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { listParquet } from '../../daemon/lakehouse/parquet-files.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { recordedSegments } from '../helpers/lakehouse-segments.ts';

// What `lakehouse compact` (and the daemon's job) meet on a robot running for months, beyond a crash: a
// damaged file in one group, retention deleting an input under a merge, another process holding the catalog.

const registry = new DefinitionsRegistry();
const work = tempDir('compaction-long-running-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  work.cleanup();
});
const MAX = 256 * 1024 * 1024;

/** 13 recorded splits, each indexed on its own: two groups of 6 to merge, the newest left. */
let template = '';
let ids: string[] = [];
beforeAll(async () => {
  template = join(work.path, 'template');
  ids = (await recordedSegments(template, registry, 13)).ids;
}, 30_000);

async function copy(name: string): Promise<{ dataDir: string; config: string }> {
  const dataDir = join(work.path, name);
  cpSync(template, dataDir, { recursive: true });
  await withCatalog(lakehousePaths(dataDir).catalog, (c) =>
    c.run(`UPDATE bags SET path = replace(path, '${template}/', '${dataDir}/')`).then(() => undefined),
  );
  const config = join(work.path, `${name}.yaml`);
  writeFileSync(config, `data_dir: ${dataDir}\n`);
  return { dataDir, config };
}

const parquetOf = async (dataDir: string, id: string) =>
  withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
    (
      (
        await c.runAndReadAll(`SELECT parquet_files FROM bags WHERE segment_id = '${id}'`)
      ).getRowsJson()[0]![0] as string[]
    ).map((f) => join(lakehousePaths(dataDir).tables, f)),
  );
const count = async (dataDir: string) =>
  (await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM messages')).rows[0]![0];

describe('lakehouse compact: what a long-running robot meets', () => {
  it('a damaged file fails its own merge only: the others are made, it says which file and what to do, and --json lists it', async () => {
    const { dataDir, config } = await copy('damaged');
    const damaged = (await parquetOf(dataDir, ids[0]!))[0]!;
    truncateSync(damaged, 20);
    const r = await runMain(['lakehouse', 'compact', '--all', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^merged 1 group: 12 parquet files into 2 \(26 files listed before, 16 now\)\n {2}segments \S+\+6: 12 files/,
    );
    expect(r.stderr).toBe(
      `auraison-edge lakehouse compact: compacting segments ${ids[0]}+6 failed, nothing was changed: Invalid Input Error: No magic bytes found at end of file '${damaged}'; ` +
        "that file can't be read (damaged): queries leave it out with a warning, and its group is left unmerged. To give up its rows, delete it (the daemon's next start takes it off the catalog)\n",
    );
    // The next run: the same merge fails, nothing else is due; the JSON says so in snake_case, as its top level.
    const again = await runMain(['lakehouse', 'compact', '--all', '--json', '--config', config]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual({
      merged: [],
      files_before: 16,
      files_after: 16,
      pending: 0,
      changed: [],
      failed: [{ key: `segments ${ids[0]}+6`, error: expect.stringContaining(damaged) }],
      stopped_by: null,
    });
    expect(existsSync(damaged)).toBe(true);
    expect(readdirSync(lakehousePaths(dataDir).staging)).toEqual([]);
  });

  it('--json gives each merge in snake_case, as the log does; no lakehouse yet is said so', async () => {
    const { config } = await copy('json');
    const r = await runMain(['lakehouse', 'compact', '--all', '--json', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      files_before: 26,
      files_after: 6,
      pending: 0,
      changed: [],
      failed: [],
      stopped_by: null,
    });
    expect(out.merged).toHaveLength(2);
    expect(Object.keys(out.merged[0]).sort()).toEqual([
      'bytes_in',
      'bytes_out',
      'files_in',
      'files_out',
      'key',
      'members',
      'ms',
      'rows',
      'table',
    ]);
    expect(out.merged[0]).toMatchObject({
      key: `segments ${ids[0]}+6`,
      table: 'segments',
      members: 6,
      files_in: 12,
      files_out: 2,
      rows: 480,
    });

    const none = join(work.path, 'none.yaml');
    writeFileSync(none, `data_dir: ${join(work.path, 'no-such-dir')}\n`);
    const empty = await runMain(['lakehouse', 'compact', '--config', none]);
    expect(empty).toMatchObject({ code: 0, stderr: '' });
    expect(empty.stdout).toBe(
      `nothing to merge: no lakehouse under ${join(work.path, 'no-such-dir')} yet (${join(work.path, 'no-such-dir', 'lakehouse', 'catalog.duckdb')} does not exist)\n`,
    );
    expect(existsSync(join(work.path, 'no-such-dir'))).toBe(false);
  });

  it('an input deleted under a merge (retention beside it) gives the merge up as changed, not failed; the rest is merged and rows stay whole', async () => {
    const { dataDir } = await copy('deleted');
    const victim = (await parquetOf(dataDir, ids[1]!))[0]!;
    const r = await compactLakehouse({
      dataDir,
      afterS: 0,
      maxBytes: MAX,
      // As retention does: the segment's row and its files go while the merge reads them.
      hooks: {
        staging: async (key) =>
          void (
            key.includes(ids[0]!) &&
            (await withCatalog(lakehousePaths(dataDir).catalog, (c) =>
              c.run(`DELETE FROM bags WHERE segment_id = '${ids[1]}'`),
            ),
            rmSync(victim))
          ),
      },
    });
    expect(r.changed).toEqual([`segments ${ids[0]}+6`]);
    expect(r.merged.map((m) => m.key)).toEqual([`segments ${ids[6]}+6`]);
    expect(r.failed).toEqual([]);
    expect(await count(dataDir)).toBe(12 * 40);
    expect(readdirSync(lakehousePaths(dataDir).staging)).toEqual([]);
  });

  it('a catalog another process holds at commit fails the merge for now only: the daemon job tries it again once it is free', async () => {
    const { dataDir } = await copy('locked');
    const catalog = lakehousePaths(dataDir).catalog;
    let holder: ChildProcess | undefined;
    const job = new CompactionJob({
      dataDir,
      log: pino({ level: 'silent' }),
      afterS: 0,
      maxBytes: MAX,
      catalogWaitMs: 200,
      hooks: {
        staged: async () => {
          if (holder) return;
          // A DuckDB shell opened on the catalog between the plan and the commit.
          holder = spawn(
            process.execPath,
            ['--import', 'tsx', join(ROOT, 'test/lakehouse/lakehouse-load-catalog-child.ts'), 'hold-rw', catalog],
            { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
          );
          children.push(holder);
          await new Promise<void>((resolve) =>
            holder!.stdout!.on('data', (d: Buffer) => d.toString().includes('holding') && resolve()),
          );
        },
      },
    });
    const failed = await job.run().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(CompactionError);
    expect((failed as CompactionError).message).toMatch(
      new RegExp(
        `^compacting segments ${ids[0]}\\+6 failed, nothing was changed: the lakehouse catalog .* is locked by process ${holder!.pid} `,
      ),
    );
    expect((failed as CompactionError).transient).toBe(true);
    expect(listParquet(lakehousePaths(dataDir).tables)).toHaveLength(26);
    holder!.stdin!.end();
    await new Promise((r) => holder!.on('exit', r));
    // The same merge is made at the next run, and the other one after it.
    expect(await job.run()).toBe(true);
    expect(await job.run()).toBe(false);
    expect(job.details).toMatchObject({ compactions: 2, parquet_files_at_last_compaction: 6 });
    expect(await count(dataDir)).toBe(13 * 40);
  });
});
