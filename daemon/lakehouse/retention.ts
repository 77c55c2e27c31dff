import { existsSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatMetadata, parseMetadata } from '../bags/metadata.ts';
import type { EdgeConfig } from '../config/schema.ts';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { quoteString } from './table-writer.ts';

export interface RetentionSettings {
  max_bytes: number;
  max_age_hours: number;
  allow_unsynced_delete: boolean;
}

export interface RetentionReport {
  totalBytes: number;
  deleted: { file: string; bytes: number; why: 'size' | 'age' }[];
  /** Set when a limit is still exceeded because only unsynced (or open) data is left. */
  blocked: string | undefined;
  /** Partition directories (robot=, date=) that earlier passes left empty, removed in this one. */
  emptyDirsRemoved: number;
}

/** How long a partition directory must have been left alone before an empty one is removed. */
const EMPTY_DIR_GRACE_MS = 60_000;

interface Unit {
  /** A recorded split under <data_dir>/bags, an imported bag (its parquet goes), or an events parquet file. */
  file: string;
  kind: 'split' | 'imported' | 'events';
  bytes: number;
  mtimeMs: number;
  synced: boolean;
  segmentId: string | undefined;
  parquet: string[];
}

/**
 * Whether data must reach central before retention may delete it. Only a configured central link makes
 * data "awaiting sync"; there is no central link yet (no `central` config section, no component calls
 * Lakehouse.markSynced), so this is false and retention deletes the oldest data to keep its limits. When
 * the central link is built, this returns whether it is configured, and `retention.allow_unsynced_delete`
 * decides again.
 */
export function syncRequired(config: EdgeConfig): boolean {
  void config;
  return false;
}

/**
 * Keeps the data dir within `max_bytes` and `max_age_hours`: deletes the oldest recorded splits (and the
 * lakehouse files indexed from them), imported segments' parquet and events parquet files, oldest first.
 * When `syncRequired` (a central link is configured), data not yet synced to central is kept unless
 * `allow_unsynced_delete` is set; files in `keep` (the split being recorded) are never touched. Bags are
 * only ever deleted under the data dir: an imported bag's own files stay where they are.
 */
export async function applyRetention(options: { dataDir: string; settings: RetentionSettings; syncRequired: boolean; keep?: readonly string[]; now?: number }): Promise<RetentionReport> {
  const { dataDir, settings, syncRequired, keep = [], now = Date.now() } = options;
  const paths = lakehousePaths(dataDir);
  const emptyDirsRemoved = sweepEmptyPartitions(paths.tables, now);
  const bagsDir = join(dataDir, 'bags');
  const { segments, eventFiles } = existsSync(paths.catalog)
    ? await withCatalog(paths.catalog, async (conn) => ({
        segments: (await conn.runAndReadAll('SELECT segment_id, path, sync_state, parquet_files FROM bags')).getRowsJson().map((r) => ({ id: String(r[0]), path: String(r[1]), synced: r[2] === 'synced', parquet: (r[3] as string[]) ?? [] })),
        // Rows of flushes that wrote no file (their path is a marker) have nothing on disk and are skipped below.
        eventFiles: (await conn.runAndReadAll('SELECT path, sync_state FROM event_files WHERE deleted_at IS NULL')).getRowsJson().map((r) => ({ path: String(r[0]), synced: r[1] === 'synced' })),
      }))
    : { segments: [], eventFiles: [] };
  const byPath = new Map(segments.map((s) => [s.path, s]));
  const units: Unit[] = [];
  for (const file of listFiles(bagsDir).filter((f) => f.endsWith('.mcap') || f.endsWith('.db3'))) {
    const st = statSync(file);
    const seg = byPath.get(file);
    units.push({ file, kind: 'split', bytes: st.size, mtimeMs: st.mtimeMs, synced: seg?.synced ?? false, segmentId: seg?.id, parquet: seg?.parquet ?? [] });
  }
  const parquetBytes = listFiles(paths.tables).reduce((n, f) => n + statSync(f).size, 0);
  let total = units.reduce((n, u) => n + u.bytes, 0) + parquetBytes;
  // Imported segments have no file of ours but their parquet: they can go too, oldest first.
  for (const seg of segments.filter((s) => !s.path.startsWith(bagsDir + '/'))) {
    const files = seg.parquet.map((p) => join(paths.tables, p)).filter(existsSync);
    if (files.length === 0) continue;
    units.push({ file: seg.path, kind: 'imported', bytes: 0, mtimeMs: Math.min(...files.map((f) => statSync(f).mtimeMs)), synced: seg.synced, segmentId: seg.id, parquet: seg.parquet });
  }
  // The events table: a parquet file per flush, each a unit of its own (its bytes are in parquetBytes already).
  for (const ev of eventFiles) {
    if (!ev.path.startsWith(paths.tables + '/') || !existsSync(ev.path)) continue;
    const st = statSync(ev.path);
    units.push({ file: ev.path, kind: 'events', bytes: st.size, mtimeMs: st.mtimeMs, synced: ev.synced, segmentId: undefined, parquet: [] });
  }
  units.sort((a, b) => a.mtimeMs - b.mtimeMs);
  const report: RetentionReport = { totalBytes: total, deleted: [], blocked: undefined, emptyDirsRemoved };
  const maxAgeMs = settings.max_age_hours * 3600_000;
  const remaining = new Set(segments.map((s) => s.id));
  const goneSegments: string[] = [];
  const goneEvents: string[] = [];
  const keepUnsynced = syncRequired && !settings.allow_unsynced_delete;
  for (const unit of units) {
    const overSize = settings.max_bytes > 0 && total > settings.max_bytes;
    const tooOld = maxAgeMs > 0 && now - unit.mtimeMs > maxAgeMs;
    if (!overSize && !tooOld) continue;
    if (keep.includes(unit.file)) continue;
    if (!unit.synced && keepUnsynced) {
      report.blocked ??= `${overSize ? `over retention.max_bytes (${total} > ${settings.max_bytes})` : `data older than retention.max_age_hours`}, but what is left is not synced to central; set retention.allow_unsynced_delete: true to delete it anyway`;
      continue;
    }
    let freed = 0;
    if (unit.kind === 'events') {
      rmSync(unit.file, { force: true });
      freed += unit.bytes;
      goneEvents.push(unit.file);
    }
    if (unit.kind === 'split' && existsSync(unit.file)) {
      rmSync(unit.file, { force: true });
      freed += unit.bytes;
      dropFromMetadata(unit.file);
    }
    if (unit.segmentId) {
      remaining.delete(unit.segmentId);
      goneSegments.push(unit.segmentId);
      for (const rel of unit.parquet) {
        const stillUsed = segments.some((s) => remaining.has(s.id) && s.parquet.includes(rel));
        const p = join(paths.tables, rel);
        if (!stillUsed && existsSync(p)) {
          freed += statSync(p).size;
          rmSync(p, { force: true });
        }
      }
    }
    total -= freed;
    report.deleted.push({ file: unit.file, bytes: freed, why: overSize ? 'size' : 'age' });
  }
  if (goneSegments.length > 0 || goneEvents.length > 0) {
    await withCatalog(paths.catalog, async (conn) => {
      if (goneSegments.length > 0) await conn.run(`DELETE FROM bags WHERE segment_id IN (${goneSegments.map(quoteString).join(', ')})`);
      if (goneEvents.length > 0) await conn.run(`UPDATE event_files SET deleted_at = current_timestamp WHERE path IN (${goneEvents.map(quoteString).join(', ')})`);
    });
  }
  if (settings.max_bytes > 0 && total <= settings.max_bytes && report.blocked?.startsWith('over')) report.blocked = undefined;
  report.totalBytes = total;
  return report;
}

/** Takes a deleted split out of its bag's metadata.yaml; removes the bag directory once it holds no split. */
function dropFromMetadata(file: string): void {
  const dir = join(file, '..');
  const name = relative(dir, file);
  const metaPath = join(dir, 'metadata.yaml');
  const left = readdirSync(dir).filter((f) => f.endsWith('.mcap') || f.endsWith('.db3'));
  if (left.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  if (!existsSync(metaPath)) return;
  try {
    const meta = parseMetadata(readFileSync(metaPath, 'utf8'), metaPath);
    const gone = meta.files.find((f) => f.path === name);
    meta.relativeFilePaths = meta.relativeFilePaths.filter((p) => p !== name);
    meta.files = meta.files.filter((f) => f.path !== name);
    if (gone) meta.messageCount -= gone.messageCount;
    meta.customData = { ...meta.customData, 'auraison_edge.retention_deleted': [meta.customData['auraison_edge.retention_deleted'], name].filter(Boolean).join(',') };
    writeAtomic(metaPath, formatMetadata(meta));
  } catch {
    // an unreadable metadata.yaml is left as it is: readers fall back to the files present
  }
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/**
 * Removes the partition directories under each table (`robot=<id>/date=<day>`) that are empty and have not
 * changed for a minute: deleting a day's last file leaves its directory, and months of them would slow
 * every query's file listing. The grace period keeps this from racing a writer that has just made a
 * directory for a file it is about to write (deleting a file touches the directory too, so a directory
 * emptied in this pass goes in a later one). Table directories themselves stay. Returns how many went.
 */
function sweepEmptyPartitions(tablesDir: string, now: number): number {
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

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
