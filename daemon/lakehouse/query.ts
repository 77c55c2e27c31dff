import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { DuckDBInstance, JsonDuckDBValueConverter, type DuckDBConnection, type DuckDBResult } from '@duckdb/node-api';
import { lakehousePaths } from './catalog.ts';
import { quoteIdent, quoteString } from './table-writer.ts';

export interface QueryResult {
  columns: { name: string; type: string }[];
  /** JSON-safe values: BIGINTs as strings when they don't fit a double, lists as arrays. */
  rows: unknown[][];
  truncated: boolean;
  /** Which limit cut the rows, when truncated. */
  truncated_by?: 'max_rows' | 'max_bytes';
  /** Parquet files left out because they could not be read (damaged, empty, missing), each named; absent when none. */
  warnings?: string[];
}

export interface QueryOptions {
  timeoutMs?: number;
  maxRows?: number;
  /** Most bytes the rows may take as JSON; the row that would pass it and the rest are cut. */
  maxBytes?: number;
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
 * over the Hive-partitioned parquet files the catalog lists as committed. A listed file that can't be read
 * (torn by a power cut, emptied, deleted by hand) is left out with a warning naming it, so it costs its own
 * rows and no query fails for it. Anything but a SELECT is refused before it runs.
 */
export async function queryLakehouse(dataDir: string, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const { timeoutMs = 30_000, maxRows = 10_000, maxBytes = Infinity } = options;
  const paths = lakehousePaths(dataDir);
  // DuckDB takes 80% of the RAM by default; on a robot the query shares it with everything else. (Values
  // a query returns are not counted against it: maxBytes bounds those.)
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: QUERY_MEMORY_LIMIT });
  const conn = await instance.connect();
  try {
    const warnings = await defineViews(conn, paths);
    const statements = await conn.extractStatements(sql);
    if (statements.count === 0) throw new QueryRefused('no SQL statement given');
    if (statements.count > 1) throw new QueryRefused('one statement at a time, please');
    let prepared;
    try {
      prepared = await statements.prepare(0);
    } catch (error) {
      if (/Can only (delete|update|insert)|read-only/i.test((error as Error).message)) throw new QueryRefused('the lakehouse is read-only here: only SELECT statements run (and WITH ... SELECT)');
      const topic = /Table with name (\/.*?) does not exist/.exec((error as Error).message)?.[1];
      if (topic !== undefined) throw new Error(await missingTopic(conn, topic, paths.root, (error as Error).message));
      throw error;
    }
    if (prepared.statementType !== STATEMENT_SELECT) throw new QueryRefused('the lakehouse is read-only here: only SELECT statements run (and WITH ... SELECT)');
    // Files outside the lakehouse are out of reach: a query can read the tables, not the rest of the disk.
    await conn.run(`SET allowed_directories = [${quoteString(paths.root + '/')}]`);
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    const timer = setTimeout(() => conn.interrupt(), timeoutMs);
    try {
      const result = await conn.stream(sql);
      const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
      return { columns, ...(await readRows(result, maxRows, maxBytes)), ...(warnings.length > 0 ? { warnings } : {}) };
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

/** How many of the lakehouse's topics an error about a missing one lists. */
const TOPICS_LISTED = 12;

/**
 * DuckDB's words for a topic the lakehouse lacks ("Table with name /odom does not exist! Did you mean
 * "/tf"?") suggest a typo; far more often the topic was never recorded (the recorder is off by default) or
 * imported. So the message says what the lakehouse holds and how topics get into it.
 */
async function missingTopic(conn: DuckDBConnection, topic: string, root: string, duckdbMessage: string): Promise<string> {
  const topics = (await conn.runAndReadAll("SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, '/') ORDER BY view_name")).getRows().map((r) => String(r[0]));
  const guess = /Did you mean "(\/[^"]*)"\?/.exec(duckdbMessage)?.[1];
  const listed = topics.length > TOPICS_LISTED ? `${topics.slice(0, TOPICS_LISTED).join(', ')} and ${topics.length - TOPICS_LISTED} more (SELECT DISTINCT topic FROM messages)` : topics.join(', ');
  const has = topics.length === 0 ? 'It has no topics yet.' : `${guess ? `Did you mean "${guess}"? ` : ''}Its topics: ${listed}.`;
  return `no topic ${topic} in the lakehouse at ${root}. ${has} Topics get there when the daemon records them (recorder.enabled: true; the recorder is off by default) or from \`auraison-edge bag import PATH\`.`;
}

/** 1 GiB, or a quarter of the RAM on a smaller machine. */
const QUERY_MEMORY_LIMIT = `${Math.min(1024, Math.floor(totalmem() / 4 / 2 ** 20))}MiB`;

/**
 * Reads a streamed result one chunk and one row at a time, converting each row to JSON-safe values and
 * counting its JSON bytes, and stops at whichever limit comes first. Nothing after the row that crosses a
 * limit is converted (that one row is, once): a result of a few huge values would otherwise be copied
 * into the JS heap whole before being cut.
 */
async function readRows(result: DuckDBResult, maxRows: number, maxBytes: number): Promise<Omit<QueryResult, 'columns'>> {
  const rows: unknown[][] = [];
  let bytes = 2; // the brackets of the rows array
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    for (let i = 0; i < chunk.rowCount; i++) {
      if (rows.length === maxRows) return { rows, truncated: true, truncated_by: 'max_rows' };
      const row = chunk.convertRowValues(i, JsonDuckDBValueConverter);
      bytes += Buffer.byteLength(JSON.stringify(row)) + (rows.length > 0 ? 1 : 0);
      if (bytes > maxBytes) return { rows, truncated: true, truncated_by: 'max_bytes' };
      rows.push(row);
    }
  }
  return { rows, truncated: false };
}

/**
 * Defines on `conn` the views `queryLakehouse` reads (`bags`, `projections`, `messages`, `raw_messages`,
 * `events` and one per projected topic, see topicViews) over the catalog at `paths.catalog` (attached
 * read-only as `catalog`) and the committed parquet under `paths.tables`; returns a warning per parquet
 * file left out. For other readers of the lakehouse (`lerobot export`), so every reader sees the same relations.
 */
export async function defineViews(conn: DuckDBConnection, paths: { catalog: string; tables: string }): Promise<string[]> {
  let projections: { topic: string; type: string; table: string }[] = [];
  /** Committed files per table directory: what the catalog lists, never a glob (which reads orphans and torn files too). */
  const files = new Map<string, string[]>();
  const add = (rel: string) => {
    const table = rel.slice(0, rel.indexOf('/'));
    files.set(table, [...(files.get(table) ?? []), join(paths.tables, rel)]);
  };
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
    for (const r of (await conn.runAndReadAll('SELECT DISTINCT unnest(parquet_files) AS f FROM catalog.bags ORDER BY f')).getRows()) add(String(r[0]));
    const prefix = paths.tables + '/';
    for (const r of (await conn.runAndReadAll(`SELECT path FROM catalog.event_files WHERE deleted_at IS NULL AND starts_with(path, ${quoteString(prefix)}) ORDER BY path`)).getRows()) add(String(r[0]).slice(prefix.length));
  }
  const warnings: string[] = [];
  for (const table of Object.keys(EMPTY)) await view(conn, table, files.get(table) ?? [], EMPTY[table]!, warnings);
  for (const p of topicViews(projections)) await view(conn, p.name, files.get(p.table) ?? [], 'log_time BIGINT, publish_time BIGINT, segment_id VARCHAR', warnings);
  return warnings;
}

/**
 * The view name of each projection table, as SQL names it: the topic (`/odom`), or `<topic>#<type>` for a
 * topic's second and later types. `projections` must come in the catalog's `ORDER BY topic, type` order.
 */
export function topicViews<P extends { topic: string; type: string; table: string }>(projections: readonly P[]): (P & { name: string })[] {
  const named = new Set<string>();
  return projections.map((p) => {
    const name = named.has(p.topic) ? `${p.topic}#${p.type}` : p.topic;
    named.add(p.topic);
    return { ...p, name };
  });
}

/**
 * A view over `files`. DuckDB reads every file's footer when the view is made, so one bad file would fail
 * it (and, made eagerly, every query): when that happens each file is tried alone and the ones that fail
 * are left out, each with a warning. A view that still fails is made empty, with a warning.
 */
async function view(conn: DuckDBConnection, name: string, files: readonly string[], emptyColumns: string, warnings: string[]): Promise<void> {
  const over = (list: readonly string[]) => `SELECT * FROM read_parquet([${list.map(quoteString).join(', ')}], hive_partitioning = true, union_by_name = true)`;
  const empty = `SELECT * FROM (SELECT ${emptyColumns.split(', ').map((c) => `NULL::${c.slice(c.lastIndexOf(' ') + 1)} AS ${c.slice(0, c.lastIndexOf(' '))}`).join(', ')}) WHERE false`;
  const create = (body: string) => conn.run(`CREATE TEMP VIEW ${quoteIdent(name)} AS ${body}`);
  if (files.length === 0) return void (await create(empty));
  try {
    return void (await create(over(files)));
  } catch {
    // some file is bad: find which below
  }
  const good: string[] = [];
  for (const f of files) {
    try {
      await conn.run(`DESCRIBE SELECT * FROM read_parquet(${quoteString(f)})`);
      good.push(f);
    } catch (error) {
      warnings.push(`${f}: ${firstLine((error as Error).message)}; its rows are left out of ${quoteIdent(name)} (delete the file to clear this warning)`);
    }
  }
  try {
    await create(good.length > 0 ? over(good) : empty);
  } catch (error) {
    warnings.push(`${quoteIdent(name)} could not be read and is empty here: ${firstLine((error as Error).message)}`);
    await create(empty);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}
