import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** Where the lakehouse lives under the data dir. */
export function lakehousePaths(dataDir: string) {
  const root = join(dataDir, 'lakehouse');
  return { root, catalog: join(root, 'catalog.duckdb'), tables: join(root, 'tables'), staging: join(root, 'staging') };
}

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
    warnings VARCHAR[] NOT NULL DEFAULT []
  )`,
  `CREATE TABLE IF NOT EXISTS projections (topic VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, table_name VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS event_files (path VARCHAR PRIMARY KEY, first_seq BIGINT, last_seq BIGINT, rows BIGINT, sync_state VARCHAR NOT NULL DEFAULT 'pending', written_at TIMESTAMP NOT NULL DEFAULT current_timestamp)`,
  // Set when retention deletes the file. The row stays: its last_seq is where indexing of the journal resumes.
  `ALTER TABLE event_files ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP`,
  // The order rows were committed in, shared by both tables: retention deletes oldest first by it, because
  // file mtimes and timestamps follow the wall clock, which steps (no RTC, NTP, GPS glitches). Rows from
  // before this column existed have none and count as older than every row that has one.
  `CREATE SEQUENCE IF NOT EXISTS catalog_seq`,
  `ALTER TABLE bags ADD COLUMN IF NOT EXISTS seq BIGINT`,
  `ALTER TABLE event_files ADD COLUMN IF NOT EXISTS seq BIGINT`,
];

/** SQL for the next value of the catalog's commit order (see `seq` above). */
export const NEXT_SEQ = "nextval('catalog_seq')";

const LOCK_RETRY_MS = 50;

/**
 * Runs `work` on a connection to the catalog database, opened for this call and closed after it. The
 * catalog is never held open between calls: DuckDB lets one process at a time open a database file, and
 * `auraison-edge query` must be able to read it while the daemon runs. A locked catalog is retried.
 */
export async function withCatalog<T>(catalogPath: string, work: (conn: DuckDBConnection) => Promise<T>, options: { readOnly?: boolean; timeoutMs?: number } = {}): Promise<T> {
  const { readOnly = false, timeoutMs = 10_000 } = options;
  if (!readOnly) mkdirSync(join(catalogPath, '..'), { recursive: true });
  const deadline = performance.now() + timeoutMs; // monotonic: a wall clock step neither ends nor stretches it
  let instance: DuckDBInstance | undefined;
  for (;;) {
    try {
      instance = await DuckDBInstance.create(catalogPath, readOnly ? { access_mode: 'READ_ONLY' } : {});
      break;
    } catch (error) {
      const message = (error as Error).message;
      if (!/lock/i.test(message) || performance.now() > deadline) throw new Error(`lakehouse catalog ${catalogPath}: ${message}`);
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
  }
  try {
    const conn = await instance.connect();
    try {
      if (!readOnly) for (const statement of SCHEMA) await conn.run(statement);
      return await work(conn);
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
