import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths, NEXT_SEQ, withCatalog } from './catalog.ts';
import { sha256File } from './file-hash.ts';
import { quoteString } from './sql-text.ts';
import {
  COLUMNS,
  refreshSyncStates,
  rowOf,
  toRel,
  type SyncFilter,
  type SyncFileKind,
  type SyncMeta,
  type SyncFile,
  type SyncState,
} from './sync-files.ts';

/**
 * The tags of a bag, for `central.sync.bags.tags`: `snapshot` for the snapshot recorder's bags (named
 * `snapshot_*`); bags carry no other tags yet.
 */
export function bagTags(bagDir: string): string[] {
  return basename(bagDir).startsWith('snapshot_') ? ['snapshot'] : [];
}

interface Candidate {
  path: string;
  kind: SyncFileKind;
  segmentId: string | undefined;
  meta: SyncMeta;
  wanted: boolean;
}

/** The files of the catalog that have no sync row yet, and the rows whose file is gone while awaiting. */
async function readCandidates(
  conn: DuckDBConnection,
  dataDir: string,
  filter: SyncFilter,
): Promise<{ candidates: Candidate[]; vanished: SyncFile[] }> {
  const tables = lakehousePaths(dataDir).tables;
  const known = new Set((await conn.runAndReadAll('SELECT path FROM sync_files')).getRows().map((r) => String(r[0])));
  const candidates: Candidate[] = [];
  const add = (c: Candidate) => {
    if (known.has(c.path)) return;
    known.add(c.path);
    candidates.push(c);
  };
  const segments = (
    await conn.runAndReadAll(
      'SELECT segment_id, bag, path, source, start_ns, end_ns, topics, parquet_files FROM bags ORDER BY seq NULLS FIRST',
    )
  ).getRowsJson();
  const bagsDir = join(dataDir, 'bags') + sep;
  for (const r of segments) {
    const [id, bag, file, source] = [String(r[0]), String(r[1]), String(r[2]), String(r[3])];
    const topics = ((r[6] as string[] | null) ?? []).map(String);
    if (source === 'recorder' && file.startsWith(bagsDir)) {
      const tags = bagTags(dirname(file));
      const chosen =
        (filter.topics.length === 0 && filter.tags.length === 0) ||
        topics.some((t) => filter.topics.includes(t)) ||
        tags.some((t) => filter.tags.includes(t));
      const meta: SyncMeta = { bag, topics, tags };
      if (r[4] !== null) meta.start_ns = String(r[4]);
      if (r[5] !== null) meta.end_ns = String(r[5]);
      add({
        path: toRel(dataDir, file),
        kind: 'bag',
        segmentId: id,
        meta,
        wanted: filter.kinds.includes('bag') && chosen,
      });
    }
    for (const p of ((r[7] as string[] | null) ?? []).map(String)) {
      const table = p.split('/')[0];
      add({
        path: toRel(dataDir, join(tables, p)),
        kind: 'table',
        segmentId: id,
        meta: table ? { table } : {},
        wanted: filter.kinds.includes('table'),
      });
    }
  }
  const events = (
    await conn.runAndReadAll(
      `SELECT path FROM event_files WHERE deleted_at IS NULL AND starts_with(path, ${quoteString(tables + sep)}) ORDER BY seq NULLS FIRST`,
    )
  ).getRows();
  for (const r of events)
    add({
      path: toRel(dataDir, String(r[0])),
      kind: 'events',
      segmentId: undefined,
      meta: { table: 'events' },
      wanted: filter.kinds.includes('events'),
    });
  const open = (
    await conn.runAndReadAll(`SELECT ${COLUMNS} FROM sync_files WHERE state IN ('awaiting', 'offered')`)
  ).getRowsJson() as unknown[][];
  const vanished = open.map(rowOf).filter((f) => !existsSync(join(dataDir, f.path)));
  return { candidates, vanished };
}

/**
 * Adds a sync row for each file of the catalog that has none (hashed off the catalog, on a worker), and
 * settles rows whose file went while awaiting: a parquet file compaction merged is `superseded` (the merged
 * file carries its rows and gets its own row), a bag split deleted outside retention is `lost`. Runs after
 * each indexing job while central sync is on; returns how many rows it added.
 */
export async function registerSyncFiles(
  dataDir: string,
  filter: SyncFilter,
  options: { timeoutMs?: number } = {},
): Promise<number> {
  const catalog = lakehousePaths(dataDir).catalog;
  if (!existsSync(catalog)) return 0;
  const { candidates, vanished } = await withCatalog(catalog, (conn) => readCandidates(conn, dataDir, filter), {
    timeoutMs: options.timeoutMs,
  });
  const rows: { path: string; values: string }[] = [];
  for (const c of candidates) {
    const abs = join(dataDir, c.path);
    if (!existsSync(abs)) continue;
    const size = statSync(abs).size;
    // An unwanted file is never hashed: nothing is sent, and its id only has to be unique.
    const sha256 = c.wanted ? await sha256File(abs).catch(() => undefined) : '';
    if (sha256 === undefined) continue; // unreadable now: the next pass tries again
    const fileId = c.wanted ? `${c.kind}:${sha256}` : `${c.kind}:${c.path}`;
    const state: SyncState = c.wanted ? 'awaiting' : 'not_wanted';
    rows.push({
      path: c.path,
      values: `${[c.path, c.kind].map(quoteString).join(', ')}, ${size}, ${quoteString(sha256)}, ${quoteString(fileId)}, ${c.segmentId ? quoteString(c.segmentId) : 'NULL'}, ${quoteString(JSON.stringify(c.meta))}, '${state}', ${c.wanted ? 'NULL' : "'not chosen by central.sync'"}, ${NEXT_SEQ}`,
    });
  }
  if (rows.length === 0 && vanished.length === 0) return 0;
  await withCatalog(
    catalog,
    async (conn) => {
      await conn.run('BEGIN TRANSACTION');
      for (const row of rows)
        await conn.run(
          `INSERT INTO sync_files (path, kind, size, sha256, file_id, segment_id, meta, state, last_error, seq) SELECT ${row.values} WHERE NOT EXISTS (SELECT 1 FROM sync_files s WHERE s.path = ${quoteString(row.path)})`,
        );
      for (const f of vanished) {
        const merged = f.kind !== 'bag';
        await conn.run(
          `UPDATE sync_files SET state = '${merged ? 'superseded' : 'lost'}', reported = ${merged}, last_error = ${quoteString(merged ? 'merged into a larger file by compaction' : 'deleted before it was uploaded (not by retention)')}, updated_at = current_timestamp WHERE path = ${quoteString(f.path)} AND state IN ('awaiting', 'offered')`,
        );
      }
      await refreshSyncStates(conn, dataDir);
      await conn.run('COMMIT');
    },
    { timeoutMs: options.timeoutMs },
  );
  return rows.length;
}
