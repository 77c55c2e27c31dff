import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths, NEXT_SEQ, withCatalog } from './catalog.ts';
import { quoteString } from './sql-text.ts';

/**
 * The catalog's `sync_files` table: every file central may want (a recorded split, a lakehouse parquet file,
 * an events parquet file), its sha256 and how far its upload got. The sync manager (central-link/sync) moves
 * a row through its states; retention reads them (synced files go first, an unsynced one deleted becomes
 * `lost`, reported up). A segment's `bags.sync_state` (and an events file's `event_files.sync_state`)
 * follows its files: `synced` once all are stored or not wanted, `syncing` once one of them has started up
 * (compaction leaves those alone), `pending` before.
 */

export type SyncFileKind = 'bag' | 'table' | 'events';

export type SyncState =
  'awaiting' | 'offered' | 'uploading' | 'uploaded' | 'stored' | 'not_wanted' | 'lost' | 'superseded';

/** Done: the file may be deleted without loss (or is gone already, and central was told). */
export const FINAL_STATES: readonly SyncState[] = ['stored', 'not_wanted', 'lost', 'superseded'];
/** Central has it, or does not want it: retention deletes these first. */
export const SYNCED_STATES: readonly SyncState[] = ['stored', 'not_wanted'];

/** What central is told about a bag split or a table file beside its bytes. */
export interface SyncMeta {
  bag?: string;
  topics?: string[];
  start_ns?: string;
  end_ns?: string;
  tags?: string[];
  table?: string;
}

export interface AckedPart {
  part_number: number;
  etag: string;
  size: number;
}

export interface SyncFile {
  /** Relative to the data dir, `/`-separated. */
  path: string;
  kind: SyncFileKind;
  size: number;
  sha256: string;
  fileId: string;
  segmentId: string | undefined;
  meta: SyncMeta;
  state: SyncState;
  objectKey: string | undefined;
  grantId: string | undefined;
  uploadId: string | undefined;
  ackedParts: AckedPart[];
  grantExpiresAt: number | undefined;
  /** Unix ms before which the file is not offered (a `later`, a failed upload's backoff). */
  notBefore: number | undefined;
  attempts: number;
  lastError: string | undefined;
  bytesSent: number;
  /** A `lost` row central has not been told of yet. */
  reported: boolean;
  seq: number;
}

/** Which files become sync rows to offer: the rest get a `not_wanted` row at once (retention may delete them). */
export interface SyncFilter {
  kinds: readonly SyncFileKind[];
  /** Bags that recorded one of these topics (empty: any)... */
  topics: readonly string[];
  /** ...or carry one of these tags (empty: any); both empty: every bag. */
  tags: readonly string[];
}

export const COLUMNS =
  'path, kind, size, sha256, file_id, segment_id, meta, state, object_key, grant_id, upload_id, acked_parts, grant_expires_at, not_before, attempts, last_error, bytes_sent, reported, seq';

export function rowOf(r: unknown[]): SyncFile {
  const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
  const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
  return {
    path: String(r[0]),
    kind: String(r[1]) as SyncFileKind,
    size: Number(r[2]),
    sha256: String(r[3]),
    fileId: String(r[4]),
    segmentId: str(r[5]),
    meta: r[6] ? (JSON.parse(String(r[6])) as SyncMeta) : {},
    state: String(r[7]) as SyncState,
    objectKey: str(r[8]),
    grantId: str(r[9]),
    uploadId: str(r[10]),
    ackedParts: r[11] ? (JSON.parse(String(r[11])) as AckedPart[]) : [],
    grantExpiresAt: num(r[12]),
    notBefore: num(r[13]),
    attempts: Number(r[14] ?? 0),
    lastError: str(r[15]),
    bytesSent: Number(r[16] ?? 0),
    reported: r[17] !== false,
    seq: Number(r[18] ?? 0),
  };
}

export function toRel(dataDir: string, file: string): string {
  return relative(dataDir, file).split(sep).join('/');
}

/**
 * Sets `bags.sync_state` and `event_files.sync_state` from their files' rows: `synced` when every file has
 * a row in stored or not_wanted, `syncing` when one has started up, else `pending`.
 */
export async function refreshSyncStates(conn: DuckDBConnection, dataDir: string): Promise<void> {
  const tables = lakehousePaths(dataDir).tables;
  const states = new Map(
    (await conn.runAndReadAll('SELECT path, state FROM sync_files')).getRows().map((r) => [String(r[0]), String(r[1])]),
  );
  const stateOf = (files: string[]): string => {
    const s = files.map((f) => states.get(toRel(dataDir, f)));
    if (s.length > 0 && s.every((x) => x === 'stored' || x === 'not_wanted')) return 'synced';
    if (s.some((x) => x === 'uploading' || x === 'uploaded' || x === 'stored')) return 'syncing';
    return 'pending';
  };
  const bags = (
    await conn.runAndReadAll('SELECT segment_id, path, source, parquet_files, sync_state FROM bags')
  ).getRowsJson();
  const bagsDir = join(dataDir, 'bags') + sep;
  for (const r of bags) {
    const files = ((r[3] as string[] | null) ?? []).map((p) => join(tables, String(p)));
    if (r[2] === 'recorder' && String(r[1]).startsWith(bagsDir) && states.has(toRel(dataDir, String(r[1]))))
      files.push(String(r[1]));
    const next = stateOf(files);
    if (next !== r[4])
      await conn.run(
        `UPDATE bags SET sync_state = '${next}', synced_at = ${next === 'synced' ? 'current_timestamp' : 'NULL'} WHERE segment_id = ${quoteString(String(r[0]))}`,
      );
  }
  const events = (
    await conn.runAndReadAll('SELECT path, sync_state FROM event_files WHERE deleted_at IS NULL')
  ).getRows();
  for (const r of events) {
    if (!states.has(toRel(dataDir, String(r[0])))) continue;
    const next = stateOf([String(r[0])]);
    if (next !== r[1])
      await conn.run(`UPDATE event_files SET sync_state = '${next}' WHERE path = ${quoteString(String(r[0]))}`);
  }
}

/** Marks segments as synced to central, so retention may delete them (the central link's acknowledgement). */
export async function markSegmentsSynced(dataDir: string, segmentIds: readonly string[]): Promise<void> {
  if (segmentIds.length === 0) return;
  await withCatalog(lakehousePaths(dataDir).catalog, (conn) =>
    conn
      .run(
        `UPDATE bags SET sync_state = 'synced', synced_at = current_timestamp WHERE segment_id IN (${segmentIds.map(quoteString).join(', ')})`,
      )
      .then(() => undefined),
  );
}

/** The rows in `states`, oldest first (all when no states are given). */
export async function listSyncFiles(
  dataDir: string,
  options: { states?: readonly SyncState[]; limit?: number; timeoutMs?: number } = {},
): Promise<SyncFile[]> {
  const catalog = lakehousePaths(dataDir).catalog;
  if (!existsSync(catalog)) return [];
  const where = options.states ? `WHERE state IN (${options.states.map(quoteString).join(', ')})` : '';
  const limit = options.limit !== undefined ? `LIMIT ${Math.floor(options.limit)}` : '';
  return withCatalog(
    catalog,
    async (conn) =>
      (
        (
          await conn.runAndReadAll(`SELECT ${COLUMNS} FROM sync_files ${where} ORDER BY seq ${limit}`)
        ).getRowsJson() as unknown[][]
      ).map(rowOf),
    { timeoutMs: options.timeoutMs },
  );
}

/** The row of a file id, or undefined. */
export async function findSyncFile(dataDir: string, fileId: string): Promise<SyncFile | undefined> {
  const catalog = lakehousePaths(dataDir).catalog;
  if (!existsSync(catalog)) return undefined;
  return withCatalog(catalog, async (conn) => {
    const rows = (
      await conn.runAndReadAll(
        `SELECT ${COLUMNS} FROM sync_files WHERE file_id = ${quoteString(fileId)} ORDER BY seq DESC LIMIT 1`,
      )
    ).getRowsJson() as unknown[][];
    return rows[0] ? rowOf(rows[0]) : undefined;
  });
}

export type SyncPatch = Partial<
  Pick<
    SyncFile,
    | 'state'
    | 'objectKey'
    | 'grantId'
    | 'uploadId'
    | 'ackedParts'
    | 'grantExpiresAt'
    | 'notBefore'
    | 'attempts'
    | 'lastError'
    | 'bytesSent'
    | 'reported'
    | 'sha256'
  >
>;

const PATCH_COLUMNS: Record<keyof SyncPatch, string> = {
  state: 'state',
  objectKey: 'object_key',
  grantId: 'grant_id',
  uploadId: 'upload_id',
  ackedParts: 'acked_parts',
  grantExpiresAt: 'grant_expires_at',
  notBefore: 'not_before',
  attempts: 'attempts',
  lastError: 'last_error',
  bytesSent: 'bytes_sent',
  reported: 'reported',
  sha256: 'sha256',
};

function sqlValue(v: unknown): string {
  if (v === undefined || v === null) return 'NULL';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v)) : 'NULL';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quoteString(v);
  return quoteString(JSON.stringify(v));
}

/** Changes a row (by its path); a change of state also sets its segment's sync_state. */
export async function updateSyncFile(dataDir: string, path: string, patch: SyncPatch): Promise<void> {
  const sets = Object.entries(patch).map(([k, v]) => `${PATCH_COLUMNS[k as keyof SyncPatch]} = ${sqlValue(v)}`);
  if (sets.length === 0) return;
  await withCatalog(lakehousePaths(dataDir).catalog, async (conn) => {
    await conn.run(
      `UPDATE sync_files SET ${sets.join(', ')}, updated_at = current_timestamp WHERE path = ${quoteString(path)}`,
    );
    if (patch.state) await refreshSyncStates(conn, dataDir);
  });
}

export interface SyncSummary {
  /** Files and bytes per state. */
  states: Record<string, { files: number; bytes: number }>;
  /** Files waiting to go up (awaiting, offered, uploading, uploaded) and their bytes. */
  awaitingFiles: number;
  awaitingBytes: number;
  /** Lost files central has not been told of yet. */
  unreportedLost: number;
}

export async function syncSummary(dataDir: string): Promise<SyncSummary> {
  const summary: SyncSummary = { states: {}, awaitingFiles: 0, awaitingBytes: 0, unreportedLost: 0 };
  const catalog = lakehousePaths(dataDir).catalog;
  if (!existsSync(catalog)) return summary;
  const rows = await withCatalog(catalog, async (conn) =>
    (
      await conn.runAndReadAll(
        'SELECT state, count(*), coalesce(sum(size), 0), count(*) FILTER (WHERE NOT reported) FROM sync_files GROUP BY state',
      )
    ).getRowsJson(),
  );
  for (const r of rows) {
    const [state, files, bytes, unreported] = [String(r[0]), Number(r[1]), Number(r[2]), Number(r[3])];
    summary.states[state] = { files, bytes };
    if (!FINAL_STATES.includes(state as SyncState)) {
      summary.awaitingFiles += files;
      summary.awaitingBytes += bytes;
    }
    if (state === 'lost') summary.unreportedLost += unreported;
  }
  return summary;
}

/**
 * Retention deleted `files` (absolute paths) before central had them: their rows become `lost`, not yet
 * reported, with `reason`. A file with no row yet (not hashed) gets one, keyed by its path. Runs on the
 * retention pass's own connection.
 */
export async function markLost(
  conn: DuckDBConnection,
  dataDir: string,
  files: readonly { file: string; bytes: number; kind: SyncFileKind }[],
  reason: string,
): Promise<void> {
  for (const f of files) {
    const rel = toRel(dataDir, f.file);
    await conn.run(
      `UPDATE sync_files SET state = 'lost', reported = false, last_error = ${quoteString(reason)}, updated_at = current_timestamp WHERE path = ${quoteString(rel)} AND state NOT IN ('stored', 'not_wanted', 'superseded', 'lost')`,
    );
    await conn.run(
      `INSERT INTO sync_files (path, kind, size, sha256, file_id, state, last_error, reported, seq) SELECT ${quoteString(rel)}, ${quoteString(f.kind)}, ${f.bytes}, '', ${quoteString(`${f.kind}:${rel}`)}, 'lost', ${quoteString(reason)}, false, ${NEXT_SEQ} WHERE NOT EXISTS (SELECT 1 FROM sync_files WHERE path = ${quoteString(rel)})`,
    );
  }
}

/** Rows of files retention deleted once they were done with (synced, or reported lost): the table stays small. */
export async function forgetDeletedSyncRows(conn: DuckDBConnection, dataDir: string): Promise<void> {
  const rows = (
    await conn.runAndReadAll(
      "SELECT path FROM sync_files WHERE state IN ('stored', 'not_wanted', 'superseded') OR (state = 'lost' AND reported)",
    )
  ).getRows();
  const gone = rows.map((r) => String(r[0])).filter((p) => !existsSync(join(dataDir, p)));
  if (gone.length > 0) await conn.run(`DELETE FROM sync_files WHERE path IN (${gone.map(quoteString).join(', ')})`);
}
