import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { newId } from '../util/index.ts';
import { alive } from '../lifecycle/index.ts';
import { lakehousePaths } from './catalog.ts';
import { listParquet } from './parquet-files.ts';
import { quoteString } from './sql-text.ts';

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
 * Deletes parquet files under `tablesDir` that no catalog row lists: what a writer killed between moving
 * its files in and committing its rows left behind. Queries never read them (views list the catalog's
 * files) and retention could never delete them. Runs on `conn`, the catalog opened for writing, which no
 * other writer can hold meanwhile, and every writer moves files into `tables/` only while it holds the
 * catalog, so a file found here unlisted is not one about to be committed. Returns the paths deleted.
 */
export async function removeOrphanParquet(conn: DuckDBConnection, tablesDir: string): Promise<string[]> {
  if (!existsSync(tablesDir)) return [];
  const listed = new Set<string>();
  for (const r of (await conn.runAndReadAll('SELECT unnest(parquet_files) FROM bags')).getRows())
    listed.add(String(r[0]));
  for (const r of (await conn.runAndReadAll('SELECT path FROM event_files WHERE deleted_at IS NULL')).getRows())
    listed.add(relative(tablesDir, String(r[0])));
  const orphans = listParquet(tablesDir)
    .filter((f) => !listed.has(f))
    .map((f) => join(tablesDir, f));
  for (const f of orphans) rmSync(f, { force: true });
  return orphans;
}

/** What forgetMissingParquet did. */
export interface ForgetReport {
  /** Parquet files taken off the catalog (absolute paths). */
  forgotten: string[];
  /** Catalog rows of segments deleted because no parquet file of theirs was left. */
  segmentsDropped: number;
  /** Why nothing was taken off although files are missing, when that is the case. */
  skipped?: string;
}

/**
 * Takes parquet files the catalog lists but the disk lacks off the catalog: deleted by hand, or by a
 * retention pass that was killed (or whose catalog write failed) between deleting a file and its row.
 * Otherwise every query warns about them for good, and a segment's row would keep naming them. A segment
 * left with no parquet file loses its row, so its bag can be imported again (and a recorded split still on
 * disk is indexed again at the next start); an events file is marked deleted, so its events are not
 * indexed again. When every listed file is missing, nothing is done: that is a tables directory on a disk
 * not mounted, or moved, rather than files deleted. Runs on `conn`, the catalog opened for writing.
 */
export async function forgetMissingParquet(conn: DuckDBConnection, tablesDir: string): Promise<ForgetReport> {
  const segments = (await conn.runAndReadAll('SELECT segment_id, parquet_files, source FROM bags'))
    .getRowsJson()
    .map((r) => ({
      id: String(r[0]),
      files: ((r[1] as string[] | null) ?? []).map(String),
      recorded: r[2] === 'recorder',
    }));
  const prefix = tablesDir + '/';
  const events = (
    await conn.runAndReadAll(
      `SELECT path FROM event_files WHERE deleted_at IS NULL AND starts_with(path, ${quoteString(prefix)})`,
    )
  )
    .getRows()
    .map((r) => String(r[0]));
  const listed = new Set([...segments.flatMap((s) => s.files.map((f) => join(tablesDir, f))), ...events]);
  const missing = new Set([...listed].filter((f) => !existsSync(f)));
  if (missing.size === 0) return { forgotten: [], segmentsDropped: 0 };
  if (missing.size === listed.size) {
    return {
      forgotten: [],
      segmentsDropped: 0,
      skipped: `none of the ${listed.size} parquet files the catalog lists is in ${tablesDir}: left as it is (is the disk holding it mounted?)`,
    };
  }
  let dropped = 0;
  const keptBy = new Map<string, number>();
  for (const s of segments) for (const f of s.files) keptBy.set(f, (keptBy.get(f) ?? 0) + 1);
  const unlisted: string[] = [];
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const s of segments) {
      const kept = s.files.filter((f) => !missing.has(join(tablesDir, f)));
      if (kept.length === s.files.length) continue;
      // A recorded segment with some files gone was half deleted (a retention pass killed between its
      // files) or lost files by hand: whole or not at all, so the messages table and the catalog's counts
      // agree; its other files go too, and a split still on disk is indexed again whole at the next start.
      if (kept.length === 0 || s.recorded) {
        for (const f of s.files)
          if (keptBy.set(f, keptBy.get(f)! - 1).get(f) === 0 && !missing.has(join(tablesDir, f)))
            unlisted.push(join(tablesDir, f));
        await conn.run(`DELETE FROM bags WHERE segment_id = ${quoteString(s.id)}`);
        dropped++;
      } else {
        await conn.run(
          `UPDATE bags SET parquet_files = [${kept.map(quoteString).join(', ')}]::VARCHAR[] WHERE segment_id = ${quoteString(s.id)}`,
        );
      }
    }
    const gone = events.filter((f) => missing.has(f));
    if (gone.length > 0)
      await conn.run(
        `UPDATE event_files SET deleted_at = current_timestamp WHERE path IN (${gone.map(quoteString).join(', ')})`,
      );
    await conn.run('COMMIT');
  } catch (error) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
  // after the commit: a crash before leaves orphans, deleted at start
  for (const f of unlisted) rmSync(f, { force: true });
  return { forgotten: [...missing].sort(), segmentsDropped: dropped };
}

/**
 * Logs what forgetMissingParquet reports (the start's and each retention pass's): the files taken off the
 * catalog, and why nothing was taken off, once until that changes.
 */
export function forgottenLog(log: Logger): (report: ForgetReport) => void {
  let skipped: string | undefined;
  return (report) => {
    if (report.forgotten.length > 0) {
      log.warn(
        { files: report.forgotten, segments_dropped: report.segmentsDropped },
        'lakehouse: took parquet files missing from disk (deleted by hand?) off the catalog',
      );
    }
    if (report.skipped && report.skipped !== skipped) log.warn(`lakehouse: ${report.skipped}`);
    skipped = report.skipped;
  };
}

/** How long a partition directory must have been left alone before an empty one is removed. */
const EMPTY_DIR_GRACE_MS = 60_000;

/**
 * Removes the partition directories under each table (`robot=<id>/date=<day>`) that are empty and have not
 * changed for a minute: deleting a day's last file leaves its directory, and months of them would slow
 * every query's file listing. The grace period keeps this from racing a writer that has just made a
 * directory for a file it is about to write (deleting a file touches the directory too, so a directory
 * emptied in this pass goes in a later one). Table directories themselves stay. Returns how many went.
 */
export function sweepEmptyPartitions(tablesDir: string, now: number): number {
  if (!existsSync(tablesDir)) return 0;
  let removed = 0;
  const visit = (dir: string): boolean => {
    let empty = true;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || !visit(join(dir, e.name))) empty = false;
    }
    if (!empty || now - statSync(dir).mtimeMs < EMPTY_DIR_GRACE_MS) return false;
    try {
      rmdirSync(dir); // fails, and keeps it, if a file appeared since it was listed
      removed++;
      return true;
    } catch {
      return false;
    }
  };
  for (const table of readdirSync(tablesDir, { withFileTypes: true })) {
    if (!table.isDirectory()) continue;
    for (const part of readdirSync(join(tablesDir, table.name), { withFileTypes: true })) {
      if (part.isDirectory()) visit(join(tablesDir, table.name, part.name));
    }
  }
  return removed;
}
