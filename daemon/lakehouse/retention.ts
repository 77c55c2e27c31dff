import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EdgeConfig } from '../config/index.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { forgetMissingParquet, sweepEmptyPartitions, type ForgetReport } from './housekeeping.ts';
import { dropFromMetadata } from './retention-files.ts';
import { forgetDeletedSyncRows, markLost, type SyncFileKind } from './sync-files.ts';
import { quoteString } from './sql-text.ts';
import { MIN_FREE_INODES } from '../recorder/index.ts';
import { freeInodesTarget, freeSpaceTarget, statfsSpace, type DiskSpace } from './disk-space.ts';
import { agedOut, listUnits, readCatalog, type Unit } from './retention-units.ts';

export interface RetentionSettings {
  max_bytes: number;
  max_age_hours: number;
  allow_unsynced_delete: boolean;
}

/**
 * What a running recorder is doing in `<data_dir>/bags`, as it stands at one moment: retention asks for it
 * right before it deletes anything, in the same synchronous stretch as the deletions.
 */
export interface RecorderActivity {
  /** The split being written and the splits still being closed or not yet handed to the lakehouse: never deleted. */
  files: readonly string[];
  /**
   * Bag directories whose metadata.yaml the recorder writes (the bag being recorded, bags it must repair):
   * their finished splits may go, but their metadata.yaml is left to the recorder, which takes the missing
   * splits off it (with retention's note) at its next write, and the directory is never removed.
   */
  bags: readonly string[];
  /** Bag directories being closed or repaired: nothing in them is touched. */
  closing: readonly string[];
}

export interface RetentionOptions {
  dataDir: string;
  settings: RetentionSettings;
  syncRequired: boolean;
  /** Files never touched. */
  keep?: readonly string[];
  /** What the recorder has open, asked right before deleting (see RecorderActivity). */
  recording?: () => RecorderActivity;
  /**
   * Whether the lakehouse indexes recorded splits: then a finished split not in the catalog yet is only
   * deleted while free space is below its target, never for `max_bytes` or `max_age_hours` (its data would
   * be lost to queries before it was ever indexed).
   */
  keepUnindexed?: boolean;
  /** Wall clock, ms: only for ages, never for order. */
  now?: number;
  /**
   * The recorder's `min_free_bytes`, when a recorder runs: while the data dir's file system has less free
   * than this plus a margin (see freeSpaceTarget), the oldest data goes too, whatever `max_bytes` says.
   * Otherwise a disk smaller than `max_bytes` fills, the recorder stops at `min_free_bytes`, and nothing
   * ever frees space for it again.
   */
  minFreeBytes?: number;
  /** statfs of the data dir (tests give a small disk). */
  diskSpace?: (dir: string) => Promise<DiskSpace>;
  /** `report.repairing` of the previous pass: a `.repairing` file unchanged since then is a dead repair's. */
  repairing?: ReadonlyMap<string, string>;
  /** How long to wait for a catalog another process holds (default withCatalog's 10 s). */
  catalogWaitMs?: number;
}

export interface RetentionReport {
  totalBytes: number;
  deleted: { file: string; bytes: number; why: 'size' | 'age' | 'free_space' }[];
  /** Set when a limit is still exceeded because only unsynced (or open) data is left. */
  blocked: string | undefined;
  /** Files deleted before central had them (central sync on): their sync rows are `lost`, to be reported. */
  lost?: { file: string; bytes: number; kind: SyncFileKind }[];
  /** Partition directories (robot=, date=) that earlier passes left empty, removed in this one. */
  emptyDirsRemoved: number;
  /**
   * Free space on the data dir's file system after the pass, and the least retention keeps; absent without
   * minFreeBytes.
   */
  freeSpace?: { free: number; target: number; minFree: number };
  /** Set while free space is below its target: what retention did about it, in words. */
  lowSpace: string | undefined;
  /** Set when ages were not applied because the wall clock is implausible. */
  clock: string | undefined;
  /** `.repairing` files seen and their size and mtime, for the next pass. */
  repairing: Map<string, string>;
  /**
   * Parquet files listed in the catalog but missing from disk, taken off it in this pass (see forgetMissingParquet).
   */
  forgotten?: ForgetReport;
}

/**
 * Whether data is offered to central before retention deletes it: with central bulk sync on
 * (`central.enabled` and `central.sync.enabled`), synced data goes first, and unsynced data goes only for
 * max_bytes or free space (reported lost), or for max_age_hours with `retention.allow_unsynced_delete`.
 */
export function syncRequired(config: EdgeConfig): boolean {
  return config.central.enabled && config.central.sync.enabled;
}

/**
 * Keeps the data dir within `max_bytes` and `max_age_hours`, and (with `minFreeBytes`) its file system
 * above freeSpaceTarget: deletes what bag repair left behind (`.orig` backups, a dead repair's
 * `.repairing`), then the oldest recorded splits (and the lakehouse files indexed from them), imported
 * segments' parquet and events parquet files, oldest first. Segments that share parquet files (a group
 * compaction merged, the splits of one import) go together, splits and all (see groupUnits).
 *
 * Oldest means first committed to the catalog (its `seq`), never first by mtime: the wall clock steps (no
 * RTC, NTP, GPS), and mtime order would delete the newest data first. Recorded splits not yet in the
 * catalog come after everything in it, in the recorder's order (bag, then split index). Ages come from
 * mtimes, but a time before 2020 or in the future is unknown and never ages data out, and with the clock
 * itself before 2020 no age applies at all; whatever the order puts before data that is too old is too old
 * as well.
 *
 * When `syncRequired` (central sync is on), what central has goes first; data not yet synced goes only when
 * max_bytes or free space leave no other choice, or for age with `allow_unsynced_delete`, and is recorded as
 * lost for central (docs/sync.md); files in `keep` and what `recording` says the recorder holds are never
 * touched, and with `keepUnindexed` a recorded split not in the catalog yet goes only for free space. Bags are
 * only ever deleted under the data dir: an imported bag's own files stay where they are.
 */
export async function applyRetention(options: RetentionOptions): Promise<RetentionReport> {
  const { dataDir, now = Date.now() } = options;
  const paths = lakehousePaths(dataDir);
  const emptyDirsRemoved = sweepEmptyPartitions(paths.tables, now);
  // The whole pass holds the catalog: files are deleted and their rows with them, in one hold, so no reader
  // that opens the catalog sees a row whose file is gone (a reader that listed the files before may still
  // find one gone; `query` reads the catalog again then), and no writer commits between the read and the update.
  if (!existsSync(paths.catalog)) return pass(options, undefined, emptyDirsRemoved);
  return withCatalog(paths.catalog, (conn) => pass(options, conn, emptyDirsRemoved), {
    timeoutMs: options.catalogWaitMs,
  });
}

async function pass(
  options: RetentionOptions,
  conn: DuckDBConnection | undefined,
  emptyDirsRemoved: number,
): Promise<RetentionReport> {
  const {
    dataDir,
    settings,
    syncRequired,
    keep = [],
    recording,
    keepUnindexed = false,
    now = Date.now(),
    minFreeBytes,
    diskSpace = statfsSpace,
    repairing: seen = new Map(),
  } = options;
  const paths = lakehousePaths(dataDir);
  const { segments, eventFiles } = conn ? await readCatalog(conn) : { segments: [], eventFiles: [] };
  const listed = listUnits(dataDir, segments, eventFiles, seen, now);
  const { units, splitsOnDisk } = listed;
  let total = listed.totalBytes;
  const report: RetentionReport = {
    totalBytes: total,
    deleted: [],
    blocked: undefined,
    emptyDirsRemoved,
    lowSpace: undefined,
    clock: undefined,
    repairing: listed.repairing,
  };
  const maxAgeMs = settings.max_age_hours * 3600_000;
  const { tooOld, clock } = agedOut(units, maxAgeMs, now);
  report.clock = clock;
  let space: DiskSpace | undefined;
  if (minFreeBytes !== undefined) {
    try {
      space = await diskSpace(dataDir);
    } catch {
      space = undefined; // statfs failing says nothing about space; the size and age limits still apply
    }
  }
  const target = space ? freeSpaceTarget(minFreeBytes!, space.size) : 0;
  let free = space?.free ?? Infinity;
  const inodesTarget = space ? freeInodesTarget(space.inodes) : 0;
  let inodesFree = space?.inodesFree ?? Infinity;
  // How many segments still in the catalog list each parquet file: a file goes with the last of them.
  const listedBy = new Map<string, number>();
  for (const s of segments) for (const f of new Set(s.parquet)) listedBy.set(f, (listedBy.get(f) ?? 0) + 1);
  const gone = { segments: [] as string[], events: [] as string[] };
  // With central sync on, what central has (or does not want) goes first; data awaiting sync goes only when
  // max_bytes or free space leave no other choice (the recorder never stops for lack of upload), or for
  // max_age_hours only with allow_unsynced_delete; each such file is reported to central as lost.
  const keepUnsynced = syncRequired && !settings.allow_unsynced_delete;
  const ordered = syncRequired ? [...units.filter((u) => u.synced), ...units.filter((u) => !u.synced)] : units;
  const lost: { file: string; bytes: number; kind: SyncFileKind; why: string }[] = [];
  // Asked here, after the last await: the loop below runs in one synchronous stretch, so the recorder (in
  // this process) can neither open, close nor finish a split between this answer and the deletions.
  const active = recording?.() ?? { files: [], bags: [], closing: [] };
  const untouched = new Set([...keep, ...active.files]);
  const closingDirs = new Set(active.closing);
  const liveDirs = new Set([...active.bags, ...active.closing]);
  // A recorded split gone from disk while its row stays (a pass killed between deleting it and its bag's
  // metadata.yaml, a split deleted by hand) comes off its bag's metadata.yaml now, whatever the limits say:
  // the next pass may be under them, and a bag must list only the files it has.
  for (const seg of segments)
    if (seg.recorded && !splitsOnDisk.has(seg.path) && !untouched.has(seg.path)) dropFromMetadata(seg.path, liveDirs);
  for (const unit of ordered) {
    const overSize = settings.max_bytes > 0 && total > settings.max_bytes;
    const lowFree = free < target || inodesFree < inodesTarget;
    const old = tooOld.has(unit);
    if (!overSize && !lowFree && !old) continue;
    const members = unit.members ?? [unit];
    if (members.some((m) => m.order[0] === Infinity || untouched.has(m.file) || closingDirs.has(dirname(m.file))))
      continue;
    const unindexed = keepUnindexed && unit.kind === 'split' && unit.order[0] === 3;
    if (unindexed && !lowFree) {
      if (overSize)
        report.blocked ??= `over retention.max_bytes (${total} > ${settings.max_bytes}), but what is left is recorded splits the lakehouse has not indexed yet: they go once indexed, or sooner if free space runs low`;
      continue;
    }
    if (!unit.synced && keepUnsynced && !overSize && !lowFree) continue; // only old: it waits for central
    const why = overSize && !unindexed ? 'size' : lowFree ? 'free_space' : 'age';
    const parquetBefore = new Map(
      unit.parquet.flatMap((rel) => {
        const p = join(paths.tables, rel);
        return existsSync(p) ? [[p, statSync(p).size] as const] : [];
      }),
    );
    const { entries, files } = deleteUnit(unit, why, paths.tables, listedBy, liveDirs, gone);
    if (syncRequired && !unit.synced) {
      for (const m of unit.members ?? [unit])
        if (m.kind === 'split' || m.kind === 'events')
          lost.push({ file: m.file, bytes: m.bytes, kind: m.kind === 'split' ? 'bag' : 'events', why });
      for (const [p, bytes] of parquetBefore) if (!existsSync(p)) lost.push({ file: p, bytes, kind: 'table', why });
    }
    const freed = entries.reduce((n, e) => n + e.bytes, 0);
    total -= freed;
    free += freed;
    inodesFree += files;
    report.deleted.push(...entries);
  }
  if (conn && (gone.segments.length > 0 || gone.events.length > 0)) {
    if (gone.segments.length > 0)
      await conn.run(`DELETE FROM bags WHERE segment_id IN (${gone.segments.map(quoteString).join(', ')})`);
    if (gone.events.length > 0)
      await conn.run(
        `UPDATE event_files SET deleted_at = current_timestamp WHERE path IN (${gone.events.map(quoteString).join(', ')})`,
      );
  }
  if (conn && syncRequired) {
    const reason = (why: string) =>
      `deleted by retention before central had it (${why === 'size' ? 'over retention.max_bytes' : why === 'free_space' ? 'free space below what the recorder needs' : 'older than retention.max_age_hours, with allow_unsynced_delete'})`;
    for (const why of new Set(lost.map((l) => l.why)))
      await markLost(
        conn,
        dataDir,
        lost.filter((l) => l.why === why),
        reason(why),
      );
    await forgetDeletedSyncRows(conn, dataDir);
    if (lost.length > 0) report.lost = lost.map(({ file, bytes, kind }) => ({ file, bytes, kind }));
  }
  // Files of ours the catalog still lists but the disk lacks (deleted by hand; a pass killed between its
  // deletions and the update above): off the catalog, so queries stop warning about them.
  if (conn) report.forgotten = await forgetMissingParquet(conn, paths.tables);
  if (settings.max_bytes > 0 && total <= settings.max_bytes && report.blocked?.startsWith('over'))
    report.blocked = undefined;
  if (space) {
    // Measured again: deleting a file another process holds open (or a hard link) frees nothing yet.
    const after = await diskSpace(dataDir).catch(() => undefined);
    free = after?.free ?? free;
    // The catalog's write-ahead log, open while this pass holds the catalog, takes an inode until its close.
    const walHeld = conn && existsSync(`${paths.catalog}.wal`) ? 1 : 0;
    inodesFree = after?.inodesFree !== undefined ? after.inodesFree + walHeld : inodesFree;
    report.freeSpace = { free, target, minFree: minFreeBytes! };
    report.lowSpace = lowSpaceNote(report.deleted, {
      free,
      target,
      inodesFree,
      inodesTarget,
      minFreeBytes: minFreeBytes!,
      recording: active.files.length > 0,
    });
  }
  report.totalBytes = total;
  return report;
}

/**
 * Deletes a unit's files (a group's members all) and the parquet files no segment left in the catalog
 * lists; the segments and events files gone are added to `gone`, for the catalog. Returns what each
 * member freed and how many files went.
 */
function deleteUnit(
  unit: Unit,
  why: RetentionReport['deleted'][number]['why'],
  tables: string,
  listedBy: Map<string, number>,
  liveDirs: ReadonlySet<string>,
  gone: { segments: string[]; events: string[] },
): { entries: RetentionReport['deleted']; files: number } {
  const members = unit.members ?? [unit];
  const entries = members.map((m) => ({ file: m.file, bytes: 0, why }) as RetentionReport['deleted'][number]);
  members.forEach((m, i) => {
    if (m.kind === 'events' || m.kind === 'leftover') {
      rmSync(m.file, { force: true });
      entries[i]!.bytes += m.bytes;
      if (m.kind === 'events') gone.events.push(m.file);
    }
    if (m.kind === 'split') {
      if (existsSync(m.file)) {
        rmSync(m.file, { force: true });
        entries[i]!.bytes += m.bytes;
      }
      // Also when the split is gone already: a pass killed between deleting it and this left it listed.
      dropFromMetadata(m.file, liveDirs);
    }
    if (m.segmentId) {
      gone.segments.push(m.segmentId);
      for (const rel of new Set(m.parquet)) listedBy.set(rel, listedBy.get(rel)! - 1);
    }
  });
  // A parquet file goes once no segment left in the catalog lists it: a group's files with the group, a
  // segment's own files with it. Their bytes count once, with the first member.
  let files = entries.filter((e) => e.bytes > 0).length;
  for (const rel of unit.parquet) {
    const p = join(tables, rel);
    if (listedBy.get(rel)! > 0 || !existsSync(p)) continue;
    entries[0]!.bytes += statSync(p).size;
    rmSync(p, { force: true });
    files++;
  }
  return { entries, files };
}

/** What retention says of free space after a pass: still short (and of what), or what it deleted to keep it. */
function lowSpaceNote(
  deleted: RetentionReport['deleted'],
  s: {
    free: number;
    target: number;
    inodesFree: number;
    inodesTarget: number;
    minFreeBytes: number;
    recording: boolean;
  },
): string | undefined {
  const forSpace = deleted.filter((d) => d.why === 'free_space');
  // When nothing more may go, the rest may be the recorder's own (a split as large as the disk).
  const holds = s.recording
    ? ` but what the recorder holds (the split being recorded: keep recorder.split_max_bytes well under the disk's size)`
    : '';
  if (s.free < s.target)
    return `${s.free} bytes free on the data dir's file system, below recorder.min_free_bytes (${s.minFreeBytes}) plus a margin (${s.target} in all), and nothing retention may delete is left${holds}: free space outside the data dir`;
  if (s.inodesFree < s.inodesTarget)
    return `${s.inodesFree} inodes free on the data dir's file system, below the ${s.inodesTarget} retention keeps for the recorder (it stops below ${MIN_FREE_INODES}), and nothing retention may delete is left${holds}: delete files outside the data dir`;
  if (forSpace.length > 0)
    return `deleted the ${forSpace.length} oldest file(s) to keep ${s.target} bytes${s.inodesTarget > 0 ? ` and ${s.inodesTarget} inodes` : ''} free (recorder.min_free_bytes ${s.minFreeBytes} plus a margin): the disk is smaller than retention.max_bytes allows for`;
  return undefined;
}
