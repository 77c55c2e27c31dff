// Over 400 lines because the plan and the merge (runMerge, stage) share the Merge types and error mapping.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CatalogLockedError, lakehousePaths, withCatalog } from './catalog.ts';
import { planMerges, type PlanUnit } from './compaction-plan.ts';
import { compatibleGroups } from './compaction-schema.ts';
import { newStagingDir } from './housekeeping.ts';
import { segmentGroups } from './segment-groups.ts';
import { commitStaged } from './parquet-files.ts';
import { quoteString } from './sql-text.ts';

export interface CompactionOptions {
  dataDir: string;
  /**
   * Only what was indexed (segments) or written (events files) at least this long ago, by the catalog's wall-clock
   * stamps; 0: everything.
   */
  afterS: number;
  /**
   * The most bytes a merged group holds: its parquet plus its segments' recorded splits (retention deletes a group
   * whole).
   */
  maxBytes: number;
  /** Merges made in this call at most (the daemon makes one per job, so other jobs run in between). */
  maxMerges?: number;
  /** Merges to leave out (their `key`): ones that failed before. */
  skip?: ReadonlySet<string>;
  /**
   * A merge that fails goes into the report's `failed` and the others are still made (the CLI); otherwise it throws a
   * CompactionError.
   */
  keepGoing?: boolean;
  /** How long to wait for a catalog another process holds (default withCatalog's 10 s). */
  catalogWaitMs?: number;
  /** Stops the call at the next step (a merge being written is interrupted); what was committed stays. */
  signal?: AbortSignal;
  /** DuckDB's memory limit for a merge (it spills past it, under the staging dir). */
  memoryLimit?: string;
  /** Whether the disk has room for `bytes` more now (the daemon keeps retention's free-space target). */
  roomFor?: (bytes: number) => Promise<boolean>;
  /** Tests: runs after each step of a merge, given its key (a crash there is what they check). */
  hooks?: Partial<Record<'staging' | 'staged' | 'moved' | 'committed', (key: string) => Promise<void> | void>>;
}

export interface MergeReport {
  /** Which merge: `segments <first segment id>+<n>` or `events <first file>+<n>`. */
  key: string;
  table: 'segments' | 'events';
  /** Segments (or events files) merged. */
  members: number;
  inputFiles: number;
  outputFiles: number;
  bytesIn: number;
  bytesOut: number;
  rows: number;
  ms: number;
}

export interface CompactionReport {
  merged: MergeReport[];
  /** Parquet files the catalog listed before this call, and after it. */
  filesBefore: number;
  filesAfter: number;
  /** Merges planned but left for a later call (maxMerges, stopped, no room). */
  pending: number;
  /** Merges given up because the catalog changed meanwhile (retention deleted a member, another compaction ran). */
  changed: string[];
  /** Set when the call stopped early: `stopped` (signal) or `no room` (disk). */
  stoppedBy?: 'stopped' | 'no room';
  /** With `keepGoing`: the merges that failed (each changed nothing), with why. */
  failed: { key: string; error: string }[];
  /**
   * With `stoppedBy: 'no room'`: the bytes the merge that waits needs free (its inputs' size, on top of what is kept
   * free).
   */
  roomNeeded?: number;
}

/**
 * A merge that failed: `key` names it, so the caller can leave it out of the next passes, unless it is
 * `transient` (the catalog locked by another process, the disk full): that one is worth trying again later.
 */
export class CompactionError extends Error {
  override name = 'CompactionError';
  constructor(
    readonly key: string,
    message: string,
    options?: ErrorOptions & { transient?: boolean },
  ) {
    super(message, options);
    this.transient = options?.transient ?? false;
  }
  readonly transient: boolean;
}

const NO_SPACE = /No space left on device|ENOSPC/;

interface Segment {
  id: string;
  parquet: string[];
  seq: number | undefined;
  path: string;
  splitBytes: number;
  synced: boolean;
  aged: boolean;
}

interface EventFile {
  path: string;
  seq: number | undefined;
  flushes: number;
  synced: boolean;
  aged: boolean;
}

type Merge =
  { key: string; table: 'segments'; segments: Segment[] } | { key: string; table: 'events'; files: EventFile[] };

const DEFAULT_MEMORY_LIMIT = '256MiB';
/**
 * How merged files are written. The parquet writer holds a row group in memory before it encodes it (a row
 * group of 64 Ki /scan rows, 360 doubles each, took 300 MB), so row groups are capped by bytes too (DuckDB's
 * estimate: about 40,000 Odometry rows, 10,000 LaserScan rows). Not smaller: a query reads the metadata of
 * every row group of every file it names, and 8 MB row groups made a month of /odom as slow to open as
 * before compaction.
 */
const MERGED_PARQUET = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, ROW_GROUP_SIZE_BYTES '32MB'";

/**
 * Merges the lakehouse's small parquet files: per table and per (robot, date) partition, the files of
 * consecutive segments (and the events table's files) become one file per merge, chosen by planMerges
 * (levels, capped at `maxBytes`). Each merge is staged in `lakehouse/staging/<pid>-<id>/` and fsynced, then,
 * holding the catalog, checked against it (retention or another compaction may have changed the rows since
 * the plan: then it is dropped), moved into `tables/`, and the member rows' file lists rewritten in one
 * transaction; the old files are deleted after the commit. A crash at any point leaves the old files listed
 * or the new ones, never both nor neither: the lakehouse's start deletes what no row lists (the new files
 * of a merge not committed, the old ones of a merge committed) and staging dirs of dead processes.
 */
export async function compactLakehouse(options: CompactionOptions): Promise<CompactionReport> {
  const { dataDir, maxMerges = Infinity, skip = new Set(), signal } = options;
  const paths = lakehousePaths(dataDir);
  const report: CompactionReport = { merged: [], filesBefore: 0, filesAfter: 0, pending: 0, changed: [], failed: [] };
  if (!existsSync(paths.catalog)) return report;
  const { merges, files } = await withCatalog(paths.catalog, (conn) => plan(conn, paths.tables, options), {
    timeoutMs: options.catalogWaitMs,
  });
  report.filesBefore = report.filesAfter = files;
  const todo = merges.filter((m) => !skip.has(m.key));
  for (const [i, merge] of todo.entries()) {
    if (i >= maxMerges) break;
    if (signal?.aborted) {
      report.stoppedBy = 'stopped';
      break;
    }
    const inputs =
      merge.table === 'segments'
        ? [...new Set(merge.segments.flatMap((s) => s.parquet))].map((f) => join(paths.tables, f))
        : merge.files.map((f) => f.path);
    if (!inputs.every((f) => existsSync(f))) {
      report.changed.push(merge.key); // deleted since the plan (retention, by hand)
      continue;
    }
    const bytesIn = inputs.reduce((n, f) => n + statSync(f).size, 0);
    if (options.roomFor && !(await options.roomFor(bytesIn))) {
      report.stoppedBy = 'no room';
      report.roomNeeded = bytesIn;
      break;
    }
    const t0 = performance.now();
    let made: Omit<MergeReport, 'ms'> | undefined;
    try {
      await options.hooks?.staging?.(merge.key);
      made = await runMerge(merge, inputs, bytesIn, paths, options);
    } catch (error) {
      if (signal?.aborted) {
        report.stoppedBy = 'stopped';
        break;
      }
      // An input deleted meanwhile (retention of the daemon beside `lakehouse compact`, or by hand) fails the
      // read: the catalog changed under the merge, nothing is wrong with it.
      if (!inputs.every((f) => existsSync(f))) {
        report.changed.push(merge.key);
        continue;
      }
      const failure = compactionError(merge.key, error as Error, options.dataDir, inputs);
      if (!options.keepGoing) throw failure;
      report.failed.push({ key: merge.key, error: failure.message });
      continue;
    }
    if (!made) {
      report.changed.push(merge.key);
      continue;
    }
    report.merged.push({ ...made, ms: Math.round(performance.now() - t0) });
    report.filesAfter += made.outputFiles - made.inputFiles;
  }
  report.pending = todo.length - report.merged.length - report.changed.length - report.failed.length;
  return report;
}

/**
 * What a failed merge says: nothing of it was changed, and what to do: for a full disk or a locked catalog
 * (transient: it is tried again), and for an input file DuckDB can't read (damaged: it stays as it is).
 */
function compactionError(key: string, error: Error, dataDir: string, inputs: readonly string[]): CompactionError {
  const locked = error instanceof CatalogLockedError;
  const full = !locked && NO_SPACE.test(error.message);
  const damaged =
    !locked &&
    !full &&
    !/Conversion Error|failed to cast/.test(error.message) &&
    inputs.find((f) => error.message.includes(f));
  const hint = full
    ? `; free space under ${dataDir} (retention, or delete old bags) and compact again`
    : damaged
      ? `; that file can't be read (damaged): queries leave it out with a warning, and its group is left unmerged. To give up its rows, delete it (the daemon's next start takes it off the catalog)`
      : '';
  return new CompactionError(key, `compacting ${key} failed, nothing was changed: ${error.message.trim()}${hint}`, {
    cause: error,
    transient: locked || full,
  });
}

/** Reads the catalog and plans the merges; also counts the parquet files it lists. */
async function plan(
  conn: DuckDBConnection,
  tablesDir: string,
  options: CompactionOptions,
): Promise<{ merges: Merge[]; files: number }> {
  const aged = (column: string) =>
    options.afterS > 0 ? `${column} <= current_timestamp::TIMESTAMP - to_seconds(${Number(options.afterS)})` : 'true';
  const segments: Segment[] = (
    await conn.runAndReadAll(
      `SELECT segment_id, parquet_files, seq, path, source, size_bytes, sync_state <> 'pending', ${aged('indexed_at')} FROM bags ORDER BY seq NULLS FIRST, segment_id`,
    )
  )
    .getRowsJson()
    .map((r) => {
      const path = String(r[3]);
      // A recorded split on disk goes with its group (retention): it counts toward the group's size.
      const splitBytes = r[4] === 'recorder' && existsSync(path) ? Number(r[5]) : 0;
      return {
        id: String(r[0]),
        parquet: ((r[1] as string[] | null) ?? []).map(String),
        seq: r[2] === null ? undefined : Number(r[2]),
        path,
        splitBytes,
        synced: r[6] === true,
        aged: r[7] === true,
      };
    });
  const eventsDir = join(tablesDir, 'events') + '/';
  const events: EventFile[] = (
    await conn.runAndReadAll(
      `SELECT path, seq, coalesce(flushes, 1), sync_state <> 'pending', ${aged('written_at')} FROM event_files WHERE deleted_at IS NULL AND starts_with(path, ${quoteString(eventsDir)}) ORDER BY seq NULLS FIRST, path`,
    )
  )
    .getRowsJson()
    .map((r) => ({
      path: String(r[0]),
      seq: r[1] === null ? undefined : Number(r[1]),
      flushes: Number(r[2]),
      synced: r[3] === true,
      aged: r[4] === true,
    }));
  const listed = new Set(segments.flatMap((s) => s.parquet));
  const files = listed.size + events.length;

  const size = (file: string) => (existsSync(file) ? statSync(file).size : undefined);
  type SegUnit = PlanUnit & { segments: Segment[] };
  const groups: SegUnit[] = segmentGroups(segments).map((members) => {
    const sizes = [...new Set(members.flatMap((s) => s.parquet))].map((f) => size(join(tablesDir, f)));
    const onDisk = sizes.every((s) => s !== undefined);
    const bytes = sizes.reduce((n: number, s) => n + (s ?? 0), 0) + members.reduce((n, s) => n + s.splitBytes, 0);
    // Segments whose files central has, or has begun to upload, are left alone: central registers files by name.
    const eligible = onDisk && sizes.length > 0 && members.every((s) => s.aged && !s.synced && s.seq !== undefined);
    return { segments: members, members: members.length, bytes, eligible };
  });
  // In commit order (rows from before `seq` existed first: they are never merged, see eligible).
  const first = (g: SegUnit) => g.segments[0]!.seq ?? -1;
  groups.sort((a, b) => first(a) - first(b));
  const merges: Merge[] = planMerges(groups, options.maxBytes).map((units) => {
    const segs = units.flatMap((u) => u.segments);
    return { key: `segments ${segs[0]!.id}+${segs.length}`, table: 'segments', segments: segs };
  });
  // Events files: each is a unit; merged within its partition (robot, date), in commit order.
  const partitions = new Map<string, (PlanUnit & { file: EventFile })[]>();
  for (const e of events) {
    const bytes = size(e.path);
    const unit = {
      file: e,
      members: e.flushes,
      bytes: bytes ?? 0,
      eligible: bytes !== undefined && e.aged && !e.synced && e.seq !== undefined,
    };
    const list = partitions.get(dirname(e.path));
    if (list) list.push(unit);
    else partitions.set(dirname(e.path), [unit]);
  }
  for (const units of partitions.values()) {
    for (const run of planMerges(units, options.maxBytes)) {
      merges.push({
        key: `events ${relative(tablesDir, run[0]!.file.path)}+${run.length}`,
        table: 'events',
        files: run.map((u) => u.file),
      });
    }
  }
  return { merges, files };
}

/**
 * Makes one merge: stages the merged files, then commits them. Returns undefined when the catalog changed since the
 * plan.
 */
async function runMerge(
  merge: Merge,
  inputs: string[],
  bytesIn: number,
  paths: ReturnType<typeof lakehousePaths>,
  options: CompactionOptions,
): Promise<Omit<MergeReport, 'ms'> | undefined> {
  const { signal, hooks = {} } = options;
  const staging = newStagingDir(options.dataDir);
  try {
    // Per table and partition (the directory a file is in): its inputs, in commit order, and the file they become.
    const byDir = new Map<string, string[]>();
    for (const f of inputs) {
      const dir = relative(paths.tables, dirname(f));
      const list = byDir.get(dir);
      if (list) list.push(f);
      else byDir.set(dir, [f]);
    }
    const { outputOf, written } = await stage(
      byDir,
      staging,
      merge.table === 'events' ? 'seq' : undefined,
      options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
      signal,
    );
    const outputs = [...written.keys()];
    const rows = [...written.values()].reduce((n, r) => n + r, 0);
    await hooks.staged?.(merge.key);
    signal?.throwIfAborted(); // (the last moment to stop: once committing, the merge is made whole)
    const bytesOut = outputs.reduce((n, rel) => n + statSync(join(staging, rel)).size, 0);
    const committed = await withCatalog(
      paths.catalog,
      async (conn) => {
        if (!(await unchanged(conn, merge, paths.tables))) return false;
        // Moved in while the catalog is held, as every writer does (see removeOrphanParquet).
        const moved = await commitStaged(staging, paths.tables, outputs);
        try {
          await hooks.moved?.(merge.key);
          await conn.run('BEGIN TRANSACTION');
          if (merge.table === 'segments') {
            for (const s of merge.segments) {
              const files = [...new Set(s.parquet.map((f) => outputOf.get(join(paths.tables, f))!))];
              await conn.run(
                `UPDATE bags SET parquet_files = [${files.map(quoteString).join(', ')}]::VARCHAR[] WHERE segment_id = ${quoteString(s.id)}`,
              );
            }
          } else {
            // One row for the merged file, with the range of journal seqs its flushes covered and their commit
            // order (the oldest's); the merged rows go (their last_seq is in the new row: indexing resumes after it).
            // (One merged file, unless the files' column types disagreed: see compatibleGroups.)
            for (const rel of outputs) {
              const olds = merge.files
                .filter((f) => outputOf.get(f.path) === rel)
                .map((f) => quoteString(f.path))
                .join(', ');
              await conn.run(
                `INSERT INTO event_files (path, first_seq, last_seq, rows, written_at, seq, flushes) SELECT ${quoteString(join(paths.tables, rel))}, min(first_seq), max(last_seq), ${written.get(rel)}, min(written_at), min(seq), sum(coalesce(flushes, 1)) FROM event_files WHERE path IN (${olds})`,
              );
              await conn.run(`DELETE FROM event_files WHERE path IN (${olds})`);
            }
          }
          await conn.run('COMMIT');
        } catch (error) {
          await conn.run('ROLLBACK').catch(() => undefined);
          // the catalog did not take them: they must not stay unlisted
          for (const p of moved) rmSync(p, { force: true });
          throw error;
        }
        await hooks.committed?.(merge.key);
        // No row lists the old files any more. A query that listed them before may still find one gone: it
        // runs again (see streamLakehouse).
        for (const f of inputs) rmSync(f, { force: true });
        return true;
      },
      { timeoutMs: options.catalogWaitMs },
    );
    if (!committed) return undefined;
    const members = merge.table === 'segments' ? merge.segments.length : merge.files.length;
    return {
      key: merge.key,
      table: merge.table,
      members,
      inputFiles: inputs.length,
      outputFiles: outputs.length,
      bytesIn,
      bytesOut,
      rows,
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Writes each partition's inputs as one parquet file under `staging`, in the inputs' order (or ordered by
 * `orderBy`: the events table's seq), and checks it holds every row of them. Segments' rows are not sorted
 * by log_time: in segment order a row group's min/max log_time already spans little more than its splits'
 * time, and sorting a day of the sim's splits took a third longer and 700 MB where not sorting took 300 MB,
 * for queries no faster. The file takes the mtime of its oldest input: retention
 * ages a group by it (and by its splits'). Files whose column types disagree go to files of their own (see
 * compatibleGroups). Returns the file each input went into (relative to `staging`) and the rows of each.
 */
async function stage(
  byDir: Map<string, string[]>,
  staging: string,
  orderBy: string | undefined,
  memoryLimit: string,
  signal: AbortSignal | undefined,
): Promise<{ outputOf: Map<string, string>; written: Map<string, number> }> {
  const spill = join(staging, 'spill');
  mkdirSync(spill, { recursive: true });
  const outputOf = new Map<string, string>();
  const written = new Map<string, number>();
  for (const [dir, files] of byDir) {
    signal?.throwIfAborted();
    // A DuckDB of its own per partition written: memory a table's write took (a /scan row group) is given back
    // before the next (one instance for all the tables of a merge held 400 MB where each alone took 270).
    // One thread: compaction runs beside the recorder and the control loops, and is in no hurry. With one
    // thread the files are read one after the other, so rows keep their order (by segment, so by time)
    // without DuckDB having to preserve it, which it must not for ROW_GROUP_SIZE_BYTES.
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: memoryLimit,
      threads: '1',
      temp_directory: spill,
      preserve_insertion_order: 'false',
      allocator_flush_threshold: '8MB',
    });
    const conn = await instance.connect();
    const interrupt = () => conn.interrupt();
    signal?.addEventListener('abort', interrupt);
    try {
      for (const group of await compatibleGroups(conn, files)) {
        const rel = join(dir, `part-${randomUUID()}.parquet`);
        const list = `[${group.map(quoteString).join(', ')}]`;
        const expected = Number(
          (await conn.runAndReadAll(`SELECT sum(num_rows) FROM parquet_file_metadata(${list})`)).getRows()[0]![0],
        );
        const out = join(staging, rel);
        mkdirSync(dirname(out), { recursive: true });
        // The files' own columns only: robot and date come from the path (hive_partitioning off). union_by_name,
        // as the views read them: a topic's later files may have columns its earlier ones lack.
        const select = `SELECT * FROM read_parquet(${list}, hive_partitioning = false, union_by_name = true)${orderBy ? ` ORDER BY ${orderBy}` : ''}`;
        const rows = Number(
          (await conn.runAndReadAll(`COPY (${select}) TO ${quoteString(out)} (${MERGED_PARQUET})`)).getRows()[0]![0],
        );
        if (rows !== expected)
          throw new Error(`merging ${group.length} files of ${dir} wrote ${rows} rows where they hold ${expected}`);
        const oldest = Math.min(...group.map((f) => statSync(f).mtimeMs)) / 1000;
        utimesSync(out, oldest, oldest);
        for (const f of group) outputOf.set(f, rel);
        written.set(rel, rows);
      }
    } finally {
      signal?.removeEventListener('abort', interrupt);
      conn.closeSync();
      instance.closeSync();
    }
  }
  rmSync(spill, { recursive: true, force: true });
  return { outputOf, written };
}

/** Whether the catalog still lists the merge's files as the plan read them (nothing else took them meanwhile). */
async function unchanged(conn: DuckDBConnection, merge: Merge, tablesDir: string): Promise<boolean> {
  if (merge.table === 'events') {
    const paths = merge.files.map((f) => quoteString(f.path)).join(', ');
    const live = Number(
      (
        await conn.runAndReadAll(`SELECT count(*) FROM event_files WHERE deleted_at IS NULL AND path IN (${paths})`)
      ).getRows()[0]![0],
    );
    return live === merge.files.length && merge.files.every((f) => existsSync(f.path));
  }
  const ids = merge.segments.map((s) => quoteString(s.id)).join(', ');
  const now = new Map(
    (await conn.runAndReadAll(`SELECT segment_id, parquet_files FROM bags WHERE segment_id IN (${ids})`))
      .getRowsJson()
      .map((r) => [String(r[0]), ((r[1] as string[] | null) ?? []).map(String)]),
  );
  const same = merge.segments.every((s) => {
    const files = now.get(s.id);
    return files !== undefined && files.length === s.parquet.length && files.every((f, i) => f === s.parquet[i]);
  });
  if (!same) return false;
  const olds = [...new Set(merge.segments.flatMap((s) => s.parquet))];
  const others = Number(
    (
      await conn.runAndReadAll(
        `SELECT count(*) FROM bags WHERE segment_id NOT IN (${ids}) AND list_has_any(parquet_files, [${olds.map(quoteString).join(', ')}]::VARCHAR[])`,
      )
    ).getRows()[0]![0],
  );
  return others === 0 && olds.every((f) => existsSync(join(tablesDir, f)));
}
