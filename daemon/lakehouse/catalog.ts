import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { errorText, sleep } from '../util/index.ts';

/** Where the lakehouse lives under the data dir. */
export function lakehousePaths(dataDir: string) {
  const root = join(dataDir, 'lakehouse');
  return { root, catalog: join(root, 'catalog.duckdb'), tables: join(root, 'tables'), staging: join(root, 'staging') };
}

// Every column a catalog has today is in its CREATE TABLE: a new catalog never needs an ALTER. DuckDB can't
// replay an `ALTER TABLE ... ADD COLUMN` of a table with a `DEFAULT current_timestamp` column from its
// write-ahead log (INTERNAL Error: Failure while replaying WAL file), so a crash or a full disk between such
// an ALTER and the next checkpoint left a catalog that never opened again for writing.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS bags (
    segment_id VARCHAR PRIMARY KEY,
    robot VARCHAR NOT NULL,
    bag VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    storage VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    start_ns BIGINT,
    end_ns BIGINT,
    message_count BIGINT NOT NULL,
    topics VARCHAR[] NOT NULL,
    size_bytes BIGINT NOT NULL,
    checksum VARCHAR NOT NULL,
    sync_state VARCHAR NOT NULL DEFAULT 'pending',
    synced_at TIMESTAMP,
    indexed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    parquet_files VARCHAR[] NOT NULL,
    raw_messages BIGINT NOT NULL DEFAULT 0,
    warnings VARCHAR[] NOT NULL DEFAULT [],
    seq BIGINT
  )`,
  `CREATE TABLE IF NOT EXISTS projections (topic VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, table_name VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS event_files (path VARCHAR PRIMARY KEY, first_seq BIGINT, last_seq BIGINT, rows BIGINT, sync_state VARCHAR NOT NULL DEFAULT 'pending', written_at TIMESTAMP NOT NULL DEFAULT current_timestamp, deleted_at TIMESTAMP, seq BIGINT, flushes BIGINT)`,
  // The order rows were committed in, shared by both tables: retention deletes oldest first by it, because
  // file mtimes and timestamps follow the wall clock, which steps (no RTC, NTP, GPS glitches). Rows from
  // before this column existed have none and count as older than every row that has one.
  `CREATE SEQUENCE IF NOT EXISTS catalog_seq`,
  // Files for central and how far each got (sync-files.ts, docs/sync.md); path is relative to the data dir.
  `CREATE TABLE IF NOT EXISTS sync_files (
    path VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    file_id VARCHAR NOT NULL,
    segment_id VARCHAR,
    meta VARCHAR,
    state VARCHAR NOT NULL,
    object_key VARCHAR,
    grant_id VARCHAR,
    upload_id VARCHAR,
    acked_parts VARCHAR,
    grant_expires_at BIGINT,
    not_before BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    bytes_sent BIGINT NOT NULL DEFAULT 0,
    reported BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    seq BIGINT
  )`,
];

/**
 * Columns added after a table's first version, which catalogs made before them get by ALTER (then a
 * checkpoint at once, so the write-ahead log holds the ALTER for milliseconds, see SCHEMA). event_files'
 * deleted_at is set when retention deletes the file; the row stays, its last_seq is where indexing of the
 * journal resumes.
 */
const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  { table: 'event_files', column: 'deleted_at', type: 'TIMESTAMP' },
  { table: 'bags', column: 'seq', type: 'BIGINT' },
  { table: 'event_files', column: 'seq', type: 'BIGINT' },
  // How many events flushes a file holds once compaction has merged them (NULL: one, as each flush writes).
  { table: 'event_files', column: 'flushes', type: 'BIGINT' },
];

async function migrate(conn: DuckDBConnection): Promise<void> {
  for (const statement of SCHEMA) await conn.run(statement);
  // One statement that binds every added column: it fails only on a catalog that lacks one (the usual
  // open costs about what SELECT 1 does; reading duckdb_columns() cost 10 times that).
  const probe = `SELECT ${ADDED_COLUMNS.map((c, i) => `t${i}.${c.column}`).join(', ')} FROM ${ADDED_COLUMNS.map((c, i) => `${c.table} t${i}`).join(', ')} LIMIT 0`;
  try {
    await conn.run(probe);
    return;
  } catch {
    // A catalog from before one of them: add what is missing.
  }
  for (const { table, column, type } of ADDED_COLUMNS)
    await conn.run(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
  await conn.run('CHECKPOINT');
}

/** SQL for the next value of the catalog's commit order (see `seq` above). */
export const NEXT_SEQ = "nextval('catalog_seq')";

const LOCK_RETRY_MS = 50;
/** How long a writer waits for a catalog another process holds: the daemon holds it for a moment per write. */
export const CATALOG_WAIT_MS = 10_000;

/**
 * DuckDB's words for a catalog file it can't open (torn by a power cut, overwritten), with what to do: move
 * it aside. The lakehouse then starts a new catalog; at its start it deletes the parquet files no row of
 * it lists (all of them) and indexes the recorded bags under <data_dir>/bags again. Other messages as they are.
 */
export function withDamageHint(catalogPath: string, message: string): string {
  if (/Failure while replaying WAL/.test(message)) {
    return (
      `${message.split('\n')[0]!.replace(/[!.]$/, '')}. The catalog's write-ahead log can't be replayed (a crash or a full disk while its tables were being created or ` +
      `upgraded left it so): move it aside (mv ${catalogPath}.wal ${catalogPath}.wal.unreplayable); the daemon then indexes the recorded bags under ` +
      '<data_dir>/bags that the catalog lacks again, and `auraison-edge bag import` takes bags imported since the last checkpoint again'
    );
  }
  if (
    !/not a valid DuckDB database file|Could not read enough bytes|[Cc]orrupt|checksum|Serialization Error/.test(
      message,
    )
  )
    return message;
  return (
    `${message.split('\n')[0]!.replace(/[!.]$/, '')}. The catalog is damaged: move it aside (mv ${catalogPath} ${catalogPath}.damaged); the daemon then starts a new one ` +
    'and indexes the recorded bags under <data_dir>/bags again (the old parquet files are deleted; imported bags need `auraison-edge bag import` again)'
  );
}

/** The catalog stayed locked by another process past the wait: nothing was changed. */
export class CatalogLockedError extends Error {
  override name = 'CatalogLockedError';
}

/**
 * What to say when the catalog stays locked: which process holds it (DuckDB names it: "Conflicting lock is
 * held in /usr/bin/duckdb (PID 4242)"), what that costs (`meanwhile`), and what to do. DuckDB lets one
 * process at a time open a database file for writing, and a process that opens it at all, read-only
 * included, keeps writers out for as long as it has it open: a DuckDB shell or a script left open on the
 * catalog stops the daemon's indexing.
 */
export function catalogLockedMessage(
  catalogPath: string,
  duckdbMessage: string,
  waitedMs: number,
  meanwhile: string,
): string {
  const holder = /held in (.*?) \(PID (\d+)\)/.exec(duckdbMessage);
  const who = holder ? `process ${holder[2]} (${holder[1]})` : 'another process';
  return (
    `the lakehouse catalog ${catalogPath} is locked by ${who}, still after ${waitedMs >= 1000 ? `${Math.round(waitedMs / 1000)} s` : `${waitedMs} ms`}; ${meanwhile}. ` +
    'A DuckDB shell or script that opens catalog.duckdb (read-only too) keeps it locked for as long as it stays open: close it. ' +
    'To read the lakehouse beside the daemon use `auraison-edge query`, or open a copy of the file (cp catalog.duckdb /tmp/catalog-copy.duckdb)'
  );
}

/**
 * An empty catalog file with no write-ahead log holds nothing: DuckDB creates the file, then writes its
 * header, and a full disk (or a crash) in between leaves it 0 bytes, which DuckDB then calls "not a valid
 * DuckDB database file" for good. Removed, so the next open creates the catalog again.
 */
function removeEmptyCatalog(catalogPath: string): void {
  try {
    if (statSync(catalogPath).size === 0 && !existsSync(`${catalogPath}.wal`)) rmSync(catalogPath);
  } catch {
    // No file (a new catalog), or one that can't be read: DuckDB's open says what is wrong.
  }
}

/** The turn each catalog file is at in this process (see withCatalog), and the catalog a call runs inside. */
const catalogTurns = new Map<string, Promise<void>>();
const insideCatalog = new AsyncLocalStorage<string>();

/**
 * Runs `work` on a connection to the catalog database, opened for this call and closed after it. The
 * catalog is never held open between calls: DuckDB lets one process at a time open a database file, and
 * `auraison-edge query` must be able to read it while the daemon runs. A locked catalog is retried.
 */
export async function withCatalog<T>(
  catalogPath: string,
  work: (conn: DuckDBConnection) => Promise<T>,
  options: { readOnly?: boolean; timeoutMs?: number | undefined } = {},
): Promise<T> {
  const { readOnly = false, timeoutMs = CATALOG_WAIT_MS } = options;
  // DuckDB lets a process open one file twice, and two instances writing it would corrupt it: calls in this
  // process take turns (the lakehouse's jobs, the sync manager's updates); a call made inside another's
  // work runs in that turn.
  if (insideCatalog.getStore() !== catalogPath) {
    const turn = catalogTurns.get(catalogPath) ?? Promise.resolve();
    const mine = turn.then(() => insideCatalog.run(catalogPath, () => withCatalog(catalogPath, work, options)));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    catalogTurns.set(catalogPath, settled);
    void settled.then(() => {
      if (catalogTurns.get(catalogPath) === settled) catalogTurns.delete(catalogPath);
    });
    return mine;
  }
  if (!readOnly) {
    mkdirSync(join(catalogPath, '..'), { recursive: true });
    removeEmptyCatalog(catalogPath);
  }
  const deadline = performance.now() + timeoutMs; // monotonic: a wall clock step neither ends nor stretches it
  let instance: DuckDBInstance | undefined;
  for (;;) {
    try {
      instance = await DuckDBInstance.create(catalogPath, readOnly ? { access_mode: 'READ_ONLY' } : {});
      break;
    } catch (error) {
      const message = errorText(error);
      if (!/lock/i.test(message))
        throw new Error(`lakehouse catalog ${catalogPath}: ${withDamageHint(catalogPath, message)}`);
      if (performance.now() > deadline)
        throw new CatalogLockedError(catalogLockedMessage(catalogPath, message, timeoutMs, 'nothing was changed'));
      await sleep(LOCK_RETRY_MS);
    }
  }
  try {
    const conn = await instance.connect();
    try {
      if (!readOnly) await migrate(conn);
      return await work(conn);
    } catch (error) {
      // A catalog torn past its header opens, and fails on the first read: say so, and what to do.
      const message = errorText(error);
      const hinted = withDamageHint(catalogPath, message);
      throw hinted === message ? error : new Error(`lakehouse catalog ${catalogPath}: ${hinted}`, { cause: error });
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
