import { existsSync, rmSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { EdgeConfig } from '../config/index.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { forgetMissingParquet, sweepEmptyPartitions, type ForgetReport } from './housekeeping.ts';
import { dropFromMetadata, listFiles } from './retention-files.ts';
import { segmentGroups } from './segment-groups.ts';
import { forgetDeletedSyncRows, markLost, type SyncFileKind } from './sync-files.ts';
import { quoteString } from './table-writer.ts';
import { MIN_FREE_INODES } from '../recorder/index.ts';
import { PLAUSIBLE_AFTER_MS } from '../util/index.ts';

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

/** The data dir's file system, as statfs sees it: bytes free to us and its size, and its inodes. */
export interface DiskSpace {
  free: number;
  size: number;
  /** Free inodes, and how many it has: 0 on file systems without a fixed count (btrfs), which never run out. */
  inodesFree?: number;
  inodes?: number;
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

/** A file written more than this "after now" was written before the clock stepped back. */
const FUTURE_SLACK_MS = 60_000;
const MARGIN_MIN = 64 * 2 ** 20;

/**
 * The free space retention keeps on the data dir's file system: the recorder's `min_free_bytes` plus a
 * margin, so recording goes on between passes instead of stopping at the limit and waiting for one. The
 * margin is `min_free_bytes` itself, at least 64 MiB, but at most a tenth of the file system (on a tiny
 * disk the margin would otherwise be all of it).
 */
export function freeSpaceTarget(minFreeBytes: number, fsSize: number): number {
  return minFreeBytes + Math.min(Math.max(MARGIN_MIN, minFreeBytes), Math.floor(fsSize / 10));
}

/**
 * The free inodes retention keeps while a recorder runs: the recorder's MIN_FREE_INODES plus a margin (64,
 * or a hundredth of the file system's inodes, at most a tenth of them). A file system full of small files
 * runs out of inodes with bytes left: the recorder stops below MIN_FREE_INODES, and only deleting files
 * frees inodes. 0 (nothing kept) on file systems without a fixed inode count.
 */
export function freeInodesTarget(inodes: number | undefined): number {
  if (!inodes) return 0;
  return MIN_FREE_INODES + Math.min(Math.max(64, Math.floor(inodes / 100)), Math.floor(inodes / 10));
}

/** Whether `space` is short of what retention keeps for the recorder, in bytes or in inodes. */
export function spaceIsLow(space: DiskSpace, minFreeBytes: number): boolean {
  return (
    space.free < freeSpaceTarget(minFreeBytes, space.size) ||
    (space.inodesFree ?? Infinity) < freeInodesTarget(space.inodes)
  );
}

interface Unit {
  /**
   * A recorded split under <data_dir>/bags, an imported bag (its parquet goes), an events parquet file, what
   * bag repair left, or a group of segments that share parquet files (see segmentGroups): its first member's.
   */
  file: string;
  kind: 'split' | 'imported' | 'events' | 'leftover' | 'group';
  bytes: number;
  /**
   * When it was written, by its mtime, or undefined when that is implausible (see saneTime); a group's oldest member's.
   */
  timeMs: number | undefined;
  /** Oldest first: compared element by element (see orderOf). */
  order: (number | string)[];
  synced: boolean;
  segmentId: string | undefined;
  parquet: string[];
  /** A group's members (splits and imported segments), oldest first: deleted together. */
  members?: Unit[];
}

/**
 * Replaces the units of segments that share parquet files (a compacted group, the splits of one import) by
 * one unit: their files hold the rows of every member, so deleting one member alone would free nothing and
 * leave its rows in the queries. The group comes where its oldest member comes (a compacted group's
 * members are consecutive in commit order) and is as old as that member: deleting the oldest segment of a
 * group deletes the whole group.
 */
function groupUnits(units: Unit[], segments: readonly { id: string; parquet: readonly string[] }[]): Unit[] {
  const unitOf = new Map(units.filter((u) => u.segmentId !== undefined).map((u) => [u.segmentId!, u]));
  const grouped = new Set<Unit>();
  const groups: Unit[] = [];
  for (const group of segmentGroups(segments)) {
    const members = group.flatMap((s) => unitOf.get(s.id) ?? []).sort((a, b) => compareOrder(a.order, b.order));
    if (members.length < 2) continue;
    for (const m of members) grouped.add(m);
    const times = members.flatMap((m) => (m.timeMs === undefined ? [] : [m.timeMs]));
    groups.push({
      file: members[0]!.file,
      kind: 'group',
      bytes: members.reduce((n, m) => n + m.bytes, 0),
      timeMs: times.length > 0 ? Math.min(...times) : undefined,
      order: members[0]!.order,
      synced: members.every((m) => m.synced),
      segmentId: undefined,
      parquet: [...new Set(members.flatMap((m) => m.parquet))],
      members,
    });
  }
  return [...units.filter((u) => !grouped.has(u)), ...groups];
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

/** A segment as the catalog lists it. */
interface CatalogSegment {
  id: string;
  path: string;
  synced: boolean;
  parquet: string[];
  seq: number | undefined;
  recorded: boolean;
}

/** A file of the events table as the catalog lists it. */
interface CatalogEventFile {
  path: string;
  synced: boolean;
  seq: number | undefined;
}

async function readCatalog(
  conn: DuckDBConnection,
): Promise<{ segments: CatalogSegment[]; eventFiles: CatalogEventFile[] }> {
  return {
    segments: (await conn.runAndReadAll('SELECT segment_id, path, sync_state, parquet_files, seq, source FROM bags'))
      .getRowsJson()
      .map((r) => ({
        id: String(r[0]),
        path: String(r[1]),
        synced: r[2] === 'synced',
        parquet: (r[3] as string[]) ?? [],
        seq: r[4] === null ? undefined : Number(r[4]),
        recorded: r[5] === 'recorder',
      })),
    // Rows of flushes that wrote no file (their path is a marker) have nothing on disk and are skipped below.
    eventFiles: (await conn.runAndReadAll('SELECT path, sync_state, seq FROM event_files WHERE deleted_at IS NULL'))
      .getRowsJson()
      .map((r) => ({ path: String(r[0]), synced: r[1] === 'synced', seq: r[2] === null ? undefined : Number(r[2]) })),
  };
}

/**
 * What retention may delete, oldest first: the files under <data_dir>/bags, imported segments and recorded
 * splits whose file is gone (by their parquet), events parquet files, with segments that share parquet
 * files as one group. `totalBytes` is the data dir's: its bags' files and all parquet.
 */
function listUnits(
  dataDir: string,
  segments: readonly CatalogSegment[],
  eventFiles: readonly CatalogEventFile[],
  seen: ReadonlyMap<string, string>,
  now: number,
): { units: Unit[]; totalBytes: number; repairing: Map<string, string>; splitsOnDisk: Set<string> } {
  const tables = lakehousePaths(dataDir).tables;
  const { units, repairing } = bagUnits(join(dataDir, 'bags'), segments, seen, now);
  const parquetBytes = listFiles(tables).reduce((n, f) => n + statSync(f).size, 0);
  const totalBytes = units.reduce((n, u) => n + u.bytes, 0) + parquetBytes;
  // Imported segments have no file of ours but their parquet: they can go too, oldest first. So do recorded
  // splits whose file is gone (a bag deleted by hand): their parquet would otherwise stay, and count, for good.
  const splitsOnDisk = new Set(units.filter((u) => u.kind === 'split').map((u) => u.file));
  for (const seg of segments.filter((s) => !splitsOnDisk.has(s.path))) {
    const files = seg.parquet.map((p) => join(tables, p)).filter(existsSync);
    if (files.length === 0) continue;
    const timeMs = saneTime(Math.min(...files.map((f) => statSync(f).mtimeMs)), now);
    // A recorded split already gone stays a split: a pass killed between deleting it and taking it off its
    // bag's metadata.yaml left it listed there.
    units.push({
      file: seg.path,
      kind: seg.recorded ? 'split' : 'imported',
      bytes: 0,
      timeMs,
      order: seg.seq !== undefined ? [2, seg.seq] : [1, timeMs ?? Infinity, seg.path],
      synced: seg.synced,
      segmentId: seg.id,
      parquet: seg.parquet,
    });
  }
  // The events table: a parquet file per flush (or per compacted run of them), each a unit of its own (its
  // bytes are in parquetBytes already).
  for (const ev of eventFiles) {
    if (!ev.path.startsWith(tables + '/') || !existsSync(ev.path)) continue;
    const st = statSync(ev.path);
    const timeMs = saneTime(st.mtimeMs, now);
    units.push({
      file: ev.path,
      kind: 'events',
      bytes: st.size,
      timeMs,
      order: ev.seq !== undefined ? [2, ev.seq] : [1, timeMs ?? Infinity, ev.path],
      synced: ev.synced,
      segmentId: undefined,
      parquet: [],
    });
  }
  const grouped = groupUnits(units, segments);
  grouped.sort((a, b) => compareOrder(a.order, b.order));
  return { units: grouped, totalBytes, repairing, splitsOnDisk };
}

/** The splits and bag repair's leftovers under `bagsDir`, ordered: a split by its segment's place in the catalog. */
function bagUnits(
  bagsDir: string,
  segments: readonly CatalogSegment[],
  seen: ReadonlyMap<string, string>,
  now: number,
): { units: Unit[]; repairing: Map<string, string> } {
  const byPath = new Map(segments.map((s) => [s.path, s]));
  const units: Unit[] = [];
  const repairing = new Map<string, string>();
  const unlisted: { unit: Unit; bag: string; index: number }[] = [];
  for (const file of listFiles(bagsDir)) {
    const leftover = REPAIR_LEFTOVER.exec(file);
    if (!leftover && !file.endsWith('.mcap') && !file.endsWith('.db3')) continue;
    const st = statSync(file);
    const timeMs = saneTime(st.mtimeMs, now);
    if (leftover) {
      // A hard link to a split still in place costs nothing until that split is replaced.
      const bytes = st.nlink > 1 ? 0 : st.size;
      const sig = `${st.size}:${st.mtimeMs}`;
      if (leftover[1] === 'repairing') repairing.set(file, sig);
      // A `.repairing` file that changed since the last pass (or is new) may be one a repair is writing:
      // counted, never deleted (order Infinity). One left unchanged between passes is a dead repair's.
      const live = leftover[1] === 'repairing' && seen.get(file) !== sig;
      units.push({
        file,
        kind: 'leftover',
        bytes,
        timeMs,
        order: live ? [Infinity] : [0, file],
        synced: true,
        segmentId: undefined,
        parquet: [],
      });
      continue;
    }
    const seg = byPath.get(file);
    const unit: Unit = {
      file,
      kind: 'split',
      bytes: st.size,
      timeMs,
      order: [],
      synced: seg?.synced ?? false,
      segmentId: seg?.id,
      parquet: seg?.parquet ?? [],
    };
    units.push(unit);
    if (seg?.seq !== undefined) unit.order = [2, seg.seq];
    else if (seg) unit.order = [1, timeMs ?? Infinity, file];
    else unlisted.push({ unit, bag: dirname(file), index: splitIndex(file) });
  }
  // Splits not in the catalog yet: after all that is, bag by bag (the bag's oldest plausible mtime, then its
  // name), each bag's splits in the recorder's order.
  const bagTime = new Map<string, number>();
  for (const u of unlisted) bagTime.set(u.bag, Math.min(bagTime.get(u.bag) ?? Infinity, u.unit.timeMs ?? Infinity));
  for (const u of unlisted) u.unit.order = [3, bagTime.get(u.bag)!, u.bag, u.index, u.unit.file];
  return { units, repairing };
}

/** The units past max_age_hours (none when it is 0, or the clock is before 2020: `clock` says so). */
function agedOut(
  units: readonly Unit[],
  maxAgeMs: number,
  now: number,
): { tooOld: Set<Unit>; clock: string | undefined } {
  const tooOld = new Set<Unit>();
  if (maxAgeMs > 0 && now < PLAUSIBLE_AFTER_MS) {
    return {
      tooOld,
      clock: `the clock reads ${new Date(now).toISOString()}, before 2020: retention.max_age_hours is not applied until it is set`,
    };
  }
  if (maxAgeMs > 0) {
    // In commit order, whatever comes before data that is too old is older still, whatever its mtime says.
    let last = -1;
    units.forEach((u, i) => {
      if (u.timeMs !== undefined && now - u.timeMs > maxAgeMs && u.order[0] !== Infinity) last = i;
    });
    for (let i = 0; i <= last; i++) tooOld.add(units[i]!);
  }
  return { tooOld, clock: undefined };
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

/** `<split>.orig`, `<split>.orig.N` (bag repair's backups) and `<split>.repairing` (a repair's copy in progress). */
const REPAIR_LEFTOVER = /\.(?:mcap|db3)\.(orig(?:\.\d+)?|repairing)$/;

/** An mtime as a time, or undefined when it can't be one: before 2020, or past `now` (the clock stepped back since). */
function saneTime(mtimeMs: number, now: number): number | undefined {
  return mtimeMs < PLAUSIBLE_AFTER_MS || mtimeMs > now + FUTURE_SLACK_MS ? undefined : mtimeMs;
}

/** The recorder's split index: `<bag>_<i>.mcap` -> i. */
function splitIndex(file: string): number {
  const m = /_(\d+)\.(?:mcap|db3)$/.exec(file);
  return m ? Number(m[1]) : 0;
}

function compareOrder(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** Free and total bytes, and inodes, of the file system holding `dir`. */
export async function statfsSpace(dir: string): Promise<DiskSpace> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize, inodesFree: s.ffree, inodes: s.files };
}
