import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';

/**
 * A catalog whose process dies (kill -9, a power cut, a full disk at the checkpoint) in the middle of a
 * write opens again. DuckDB can't replay an `ALTER TABLE ... ADD COLUMN` of a table with a `DEFAULT
 * current_timestamp` column from its write-ahead log, and the catalog used to run such ALTERs on every new
 * catalog: a crash during the first write left one that never opened for writing again.
 */

const work = tempDir('catalog-crash-');
afterAll(() => work.cleanup());

/** Runs the child, which dies by SIGKILL inside its write; returns the catalog's path. */
function crashDuringWrite(name: string, mode: 'fresh' | 'old' | 'old-raw'): string {
  const catalog = join(work.path, `${name}.duckdb`);
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'lakehouse', 'catalog-crash-child.ts'), catalog, mode],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect(child.signal, child.stderr).toBe('SIGKILL');
  expect(existsSync(`${catalog}.wal`)).toBe(true); // died before a checkpoint: what it wrote is in the log
  return catalog;
}

const eventFiles = (catalog: string) =>
  withCatalog(catalog, async (conn) =>
    (
      await conn.runAndReadAll('SELECT path, last_seq::INTEGER, deleted_at, seq FROM event_files ORDER BY path')
    ).getRowsJson(),
  );

describe('a catalog whose process was killed inside a write', () => {
  it('new (the first write to a data dir): opens again, with what was committed before the kill', async () => {
    const catalog = crashDuringWrite('fresh', 'fresh');
    expect(await eventFiles(catalog)).toEqual([['tables/events/b.parquet', 20, null, null]]);
  });

  it('made by an older version, upgraded in that write: opens again, upgraded, with its rows', async () => {
    const catalog = crashDuringWrite('old', 'old');
    expect(await eventFiles(catalog)).toEqual([
      ['tables/events/a.parquet', 10, null, null],
      ['tables/events/b.parquet', 20, null, null],
    ]);
  });

  it('left unreplayable by an older version: the error says to move the log aside, and then the catalog opens as it was at its last checkpoint', async () => {
    const catalog = crashDuringWrite('old-raw', 'old-raw');
    const failure = await eventFiles(catalog).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(failure).toMatch(/Failure while replaying WAL file/);
    expect(failure).toContain(
      `The catalog's write-ahead log can't be replayed (a crash or a full disk while its tables were being created or upgraded left it so): move it aside (mv ${catalog}.wal ${catalog}.wal.unreplayable)`,
    );
    renameSync(`${catalog}.wal`, `${catalog}.wal.unreplayable`);
    expect(await eventFiles(catalog)).toEqual([['tables/events/a.parquet', 10, null, null]]);
  });
});

/** A catalog whose very first write found the disk full (a real tmpfs). */
describe.runIf(canMountTmpfs())('a catalog created on a full disk', () => {
  it('leaves a 0-byte file, which is made again once there is space (it used to be called damaged for good)', async () => {
    const disk = mountSmallTmpfs('2m');
    try {
      const catalog = join(disk.path, 'lakehouse', 'catalog.duckdb');
      const filler = fillDisk(disk.path);
      await expect(eventFiles(catalog)).rejects.toThrow(/No space left on device/);
      expect(statSync(catalog).size).toBe(0);
      filler.free();
      expect(await eventFiles(catalog)).toEqual([]);
    } finally {
      disk.cleanup();
    }
  });
});
