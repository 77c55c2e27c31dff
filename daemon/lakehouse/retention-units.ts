import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths } from './catalog.ts';
import { listFiles } from './retention-files.ts';
import { segmentGroups } from './segment-groups.ts';
import { PLAUSIBLE_AFTER_MS } from '../util/index.ts';

// What retention may delete (units: splits, imported segments, events files, repair leftovers, groups), read from
// the catalog and the bags dir, oldest first, and which of them are past their age.

/** A file written more than this "after now" was written before the clock stepped back. */
const FUTURE_SLACK_MS = 60_000;

export interface Unit {
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

/** A segment as the catalog lists it. */
export interface CatalogSegment {
  id: string;
  path: string;
  synced: boolean;
  parquet: string[];
  seq: number | undefined;
  recorded: boolean;
}

/** A file of the events table as the catalog lists it. */
export interface CatalogEventFile {
  path: string;
  synced: boolean;
  seq: number | undefined;
}

export async function readCatalog(
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
export function listUnits(
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
export function agedOut(
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
