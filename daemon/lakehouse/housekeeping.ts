import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { newId } from '../contract/ids.ts';
import { alive } from '../lifecycle/data-dir.ts';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { listParquet } from './table-writer.ts';

/**
 * A new staging directory for one writer (an import, an events flush), named `<pid>-<id>` so a later
 * sweep can tell a dead writer's leftovers from a live one's: `auraison-edge bag import` runs beside the
 * daemon without taking the data-dir lock, so "no other process holds the data dir" can't be known from
 * the lock alone.
 */
export function newStagingDir(dataDir: string): string {
  return join(lakehousePaths(dataDir).staging, `${process.pid}-${newId()}`);
}

/**
 * Removes what writers killed mid-write (kill -9, power cut) left in `lakehouse/staging`: every entry
 * whose owner process is gone, and entries named before staging dirs carried their owner's pid. Entries of
 * this process and of live processes are in-flight writes and stay. Returns the paths removed.
 */
export function sweepStaging(dataDir: string): string[] {
  const staging = lakehousePaths(dataDir).staging;
  if (!existsSync(staging)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(staging)) {
    const pid = /^(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && (Number(pid) === process.pid || alive(Number(pid)))) continue;
    rmSync(join(staging, name), { recursive: true, force: true });
    removed.push(join(staging, name));
  }
  return removed;
}

/**
 * Deletes parquet files under `tables/` that no catalog row lists: what a writer killed between moving
 * its files in and committing its rows left behind. Queries never read them (views list the catalog's
 * files) and retention could never delete them. Runs with the catalog open for writing, which no other
 * writer can hold meanwhile, and every writer moves files into `tables/` only while it holds the catalog,
 * so a file found here unlisted is not one about to be committed. Returns the paths deleted.
 */
export async function removeOrphanParquet(dataDir: string): Promise<string[]> {
  const paths = lakehousePaths(dataDir);
  if (!existsSync(paths.tables)) return [];
  return withCatalog(paths.catalog, async (conn) => {
    const listed = new Set<string>();
    for (const r of (await conn.runAndReadAll('SELECT unnest(parquet_files) FROM bags')).getRows()) listed.add(String(r[0]));
    for (const r of (await conn.runAndReadAll('SELECT path FROM event_files WHERE deleted_at IS NULL')).getRows()) listed.add(relative(paths.tables, String(r[0])));
    const orphans = listParquet(paths.tables).filter((f) => !listed.has(f)).map((f) => join(paths.tables, f));
    for (const f of orphans) rmSync(f, { force: true });
    return orphans;
  });
}
