import { DuckDBInstance } from '@duckdb/node-api';
import { withCatalog } from '../../daemon/lakehouse/catalog.ts';

/**
 * Dies by SIGKILL inside its first write to the catalog at argv[2], after the catalog's schema is set up and
 * before it is closed (so before DuckDB's checkpoint at close), as a power cut or the OOM killer would.
 * argv[3]: `fresh` (a new catalog), `old` (a catalog made as an older version made it, without the columns
 * added since), `old-raw` (that old catalog, then the ALTER an older version ran, without a checkpoint).
 */
const [catalogPath, mode] = process.argv.slice(2) as [string, 'fresh' | 'old' | 'old-raw'];

if (mode !== 'fresh') {
  const db = await DuckDBInstance.create(catalogPath);
  const conn = await db.connect();
  // event_files as auraison-edge created it before deleted_at and seq (commit e01fa21).
  await conn.run(
    `CREATE TABLE event_files (path VARCHAR PRIMARY KEY, first_seq BIGINT, last_seq BIGINT, rows BIGINT, sync_state VARCHAR NOT NULL DEFAULT 'pending', written_at TIMESTAMP NOT NULL DEFAULT current_timestamp)`,
  );
  await conn.run(
    `INSERT INTO event_files (path, first_seq, last_seq, rows) VALUES ('tables/events/a.parquet', 1, 10, 10)`,
  );
  await conn.run('CHECKPOINT');
  if (mode === 'old-raw') {
    await conn.run('ALTER TABLE event_files ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP');
    process.kill(process.pid, 'SIGKILL');
  }
  conn.closeSync();
  db.closeSync();
}
await withCatalog(catalogPath, async (conn) => {
  await conn.run(
    `INSERT INTO event_files (path, first_seq, last_seq, rows) VALUES ('tables/events/b.parquet', 11, 20, 10)`,
  );
  process.kill(process.pid, 'SIGKILL');
});
