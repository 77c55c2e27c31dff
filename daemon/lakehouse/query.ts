import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths } from './catalog.ts';
import { quoteIdent, quoteString } from './table-writer.ts';

export interface QueryResult {
  columns: { name: string; type: string }[];
  /** JSON-safe values: BIGINTs as strings when they don't fit a double, lists as arrays. */
  rows: unknown[][];
  truncated: boolean;
}

export class QueryRefused extends Error {
  override name = 'QueryRefused';
}

const STATEMENT_SELECT = 1;

/** Column layouts of the parquet tables, for empty views before any file exists. */
const EMPTY: Record<string, string> = {
  messages: 'segment_id VARCHAR, bag VARCHAR, topic VARCHAR, type VARCHAR, log_time BIGINT, publish_time BIGINT, "offset" BIGINT, size INTEGER, decoded BOOLEAN, robot VARCHAR, date DATE',
  raw_messages: 'segment_id VARCHAR, bag VARCHAR, topic VARCHAR, type VARCHAR, log_time BIGINT, publish_time BIGINT, data BLOB, robot VARCHAR, date DATE',
  events: 'seq BIGINT, ts BIGINT, event_id VARCHAR, run_id VARCHAR, kind VARCHAR, payload VARCHAR, robot VARCHAR, date DATE',
};

/**
 * Runs read-only SQL over the lakehouse: `bags` and `projections` from the catalog (attached read-only),
 * `messages`, `raw_messages`, `events` and one view per projected topic, named by the topic (`"/odom"`),
 * over the Hive-partitioned parquet. Anything but a SELECT is refused before it runs.
 */
export async function queryLakehouse(dataDir: string, sql: string, options: { timeoutMs?: number; maxRows?: number } = {}): Promise<QueryResult> {
  const { timeoutMs = 30_000, maxRows = 10_000 } = options;
  const paths = lakehousePaths(dataDir);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await defineViews(conn, paths);
    const statements = await conn.extractStatements(sql);
    if (statements.count === 0) throw new QueryRefused('no SQL statement given');
    if (statements.count > 1) throw new QueryRefused('one statement at a time, please');
    let prepared;
    try {
      prepared = await statements.prepare(0);
    } catch (error) {
      if (/Can only (delete|update|insert)|read-only/i.test((error as Error).message)) throw new QueryRefused('the lakehouse is read-only here: only SELECT statements run (and WITH ... SELECT)');
      throw error;
    }
    if (prepared.statementType !== STATEMENT_SELECT) throw new QueryRefused('the lakehouse is read-only here: only SELECT statements run (and WITH ... SELECT)');
    // Files outside the lakehouse are out of reach: a query can read the tables, not the rest of the disk.
    await conn.run(`SET allowed_directories = [${quoteString(paths.root + '/')}]`);
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    const timer = setTimeout(() => conn.interrupt(), timeoutMs);
    try {
      const reader = await conn.streamAndReadUntil(sql, maxRows + 1);
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const rows = reader.getRowsJson() as unknown[][];
      return { columns: names.map((name, i) => ({ name, type: types[i]!.toString() })), rows: rows.slice(0, maxRows), truncated: rows.length > maxRows };
    } catch (error) {
      if (/interrupt/i.test((error as Error).message)) throw new QueryRefused(`the query ran past ${timeoutMs} ms and was stopped`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function defineViews(conn: DuckDBConnection, paths: ReturnType<typeof lakehousePaths>): Promise<void> {
  let projections: { topic: string; type: string; table: string }[] = [];
  if (existsSync(paths.catalog)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await conn.run(`ATTACH ${quoteString(paths.catalog)} AS catalog (READ_ONLY)`);
        break;
      } catch (error) {
        if (!/lock/i.test((error as Error).message) || attempt > 200) throw error;
        await new Promise((r) => setTimeout(r, 50)); // the daemon holds it for a moment while it writes
      }
    }
    await conn.run('CREATE TEMP VIEW bags AS SELECT * FROM catalog.bags');
    await conn.run('CREATE TEMP VIEW projections AS SELECT * FROM catalog.projections');
    projections = (await conn.runAndReadAll('SELECT topic, type, table_name FROM catalog.projections ORDER BY topic, type')).getRows().map((r) => ({ topic: String(r[0]), type: String(r[1]), table: String(r[2]) }));
  }
  for (const table of Object.keys(EMPTY)) await view(conn, table, join(paths.tables, table), EMPTY[table]!);
  const named = new Set<string>();
  for (const p of projections) {
    const name = named.has(p.topic) ? `${p.topic}#${p.type}` : p.topic;
    named.add(p.topic);
    await view(conn, name, join(paths.tables, p.table), 'log_time BIGINT, publish_time BIGINT, segment_id VARCHAR');
  }
}

async function view(conn: DuckDBConnection, name: string, dir: string, emptyColumns: string): Promise<void> {
  const body = hasParquet(dir)
    ? `SELECT * FROM read_parquet(${quoteString(join(dir, '**', '*.parquet'))}, hive_partitioning = true, union_by_name = true)`
    : `SELECT * FROM (SELECT ${emptyColumns.split(', ').map((c) => `NULL::${c.slice(c.lastIndexOf(' ') + 1)} AS ${c.slice(0, c.lastIndexOf(' '))}`).join(', ')}) WHERE false`;
  await conn.run(`CREATE TEMP VIEW ${quoteIdent(name)} AS ${body}`);
}

function hasParquet(dir: string): boolean {
  if (!existsSync(dir)) return false;
  const walk = (d: string): boolean => readdirSync(d, { withFileTypes: true }).some((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.parquet')));
  return walk(dir);
}
