import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CATALOG_WAIT_MS, catalogLockedMessage, CatalogLockedError, withDamageHint } from './catalog.ts';
import { unindexedNote } from './recorded-splits.ts';
import { quoteIdent, quoteString } from './sql-text.ts';
import { errorText, sleep } from '../util/index.ts';

/** Column layouts of the parquet tables, for empty views before any file exists. */
const EMPTY: Record<string, string> = {
  messages:
    'segment_id VARCHAR, bag VARCHAR, topic VARCHAR, type VARCHAR, log_time BIGINT, publish_time BIGINT, "offset" BIGINT, size INTEGER, decoded BOOLEAN, robot VARCHAR, date DATE',
  raw_messages:
    'segment_id VARCHAR, bag VARCHAR, topic VARCHAR, type VARCHAR, log_time BIGINT, publish_time BIGINT, data BLOB, robot VARCHAR, date DATE',
  events:
    'seq BIGINT, ts BIGINT, event_id VARCHAR, run_id VARCHAR, kind VARCHAR, payload VARCHAR, robot VARCHAR, date DATE',
};

const ATTACH_RETRY_MS = 50;
/** Files of one view named one by one in warnings; past that, how many more. */
const FILES_NAMED = 3;

/** The views defined and the parquet files they read: the reader checks a failure against these. */
export interface Views {
  warnings: string[];
  /** Every parquet file a view reads (absolute paths). */
  files: string[];
}

/**
 * Defines on `conn` every relation `queryLakehouse` can read: `bags` and `projections` (copies of the
 * catalog's tables), `messages`, `raw_messages`, `events` and one view per projected topic (see topicViews)
 * over the parquet files the catalog lists as committed, with a warning per file left out. Each view reads
 * all its files' footers: readers use openViews, which makes only the views asked for; this is what every
 * query did before that (the lakehouse bench's baseline).
 */
export async function defineViewsOver(
  conn: DuckDBConnection,
  paths: { catalog: string; tables: string },
  catalogWaitMs = CATALOG_WAIT_MS,
): Promise<Views> {
  const views = await openViews(conn, paths, catalogWaitMs);
  await views.defineAll();
  return views;
}

/**
 * The lakehouse's relations on a connection, each parquet view made only when asked for (see openViews):
 * `warnings` and `files` grow as views are made.
 */
export interface LazyViews extends Views {
  /** Every relation a query can name, made or not: `bags`, `projections`, the tables, then the topics. */
  names: readonly string[];
  /** Makes the views of `names` not made yet (matched as DuckDB matches names: case aside); other names are ignored. */
  define(names: Iterable<string>): Promise<void>;
  /** Makes every view not made yet. */
  defineAll(): Promise<void>;
  /** Whether `name` is a relation of the lakehouse whose view is not made yet. */
  pending(name: string): boolean;
  /**
   * Makes each view not made yet as an empty one that reads no file: for error messages only (DuckDB's
   * "Did you mean" and the list of tables look at what the connection has), never before a statement runs.
   * define() still makes the real view in its place.
   */
  placeholders(): Promise<void>;
}

/**
 * defineViews, making no parquet view yet: copies `bags` and `projections` from the catalog onto `conn` and
 * notes which files each view would read. DuckDB reads the footer of every file a view names when the view
 * is made (about 0.3 to 0.5 ms a file, and a month of recording is tens of thousands of files), so a query makes
 * only the views its statement names (see statementTables in query.ts).
 */
export async function openViews(
  conn: DuckDBConnection,
  paths: { catalog: string; tables: string },
  catalogWaitMs = CATALOG_WAIT_MS,
): Promise<LazyViews> {
  let projections: { topic: string; type: string; table: string }[] = [];
  /**
   * Committed files per table directory: what the catalog lists, never a glob (which reads orphans and torn files too).
   */
  const files = new Map<string, string[]>();
  const indexed = new Set<string>();
  const add = (rel: string) => {
    const table = rel.slice(0, rel.indexOf('/'));
    const list = files.get(table);
    if (list) list.push(join(paths.tables, rel));
    else files.set(table, [join(paths.tables, rel)]);
  };
  if (existsSync(paths.catalog)) {
    await attachCatalog(conn, paths.catalog, catalogWaitMs);
    try {
      await conn.run('CREATE TEMP TABLE bags AS SELECT * FROM catalog.bags');
      await conn.run('CREATE TEMP TABLE projections AS SELECT * FROM catalog.projections');
      projections = (
        await conn.runAndReadAll('SELECT topic, type, table_name FROM catalog.projections ORDER BY topic, type')
      )
        .getRows()
        .map((r) => ({ topic: String(r[0]), type: String(r[1]), table: String(r[2]) }));
      for (const r of (
        await conn.runAndReadAll('SELECT DISTINCT unnest(parquet_files) AS f FROM catalog.bags ORDER BY f')
      ).getRows())
        add(String(r[0]));
      for (const r of (await conn.runAndReadAll('SELECT path FROM catalog.bags')).getRows()) indexed.add(String(r[0]));
      const prefix = paths.tables + '/';
      // A catalog from before event_files.deleted_at (a version older than the query; the daemon adds the
      // column at its start) is read as it is: none of its rows was deleted.
      const hasDeletedAt =
        (
          await conn.runAndReadAll(
            "SELECT 1 FROM duckdb_columns() WHERE database_name = 'catalog' AND table_name = 'event_files' AND column_name = 'deleted_at'",
          )
        ).getRows().length > 0;
      const live = hasDeletedAt ? 'deleted_at IS NULL AND ' : '';
      for (const r of (
        await conn.runAndReadAll(
          `SELECT path FROM catalog.event_files WHERE ${live}starts_with(path, ${quoteString(prefix)}) ORDER BY path`,
        )
      ).getRows())
        add(String(r[0]).slice(prefix.length));
    } catch (error) {
      const message = errorText(error);
      const hinted = withDamageHint(paths.catalog, message);
      throw hinted === message ? error : new Error(hinted, { cause: error });
    } finally {
      await conn.run('DETACH DATABASE IF EXISTS catalog');
    }
  }
  // Views are made once the catalog is detached: a view reads every file's footer (seconds for tens of
  // thousands of files), and the daemon's writes would wait meanwhile. A retention pass may delete a file
  // in between; the warning names it, and says so.
  const specs = new Map<string, { files: string[]; columns: string }>();
  for (const table of Object.keys(EMPTY)) specs.set(table, { files: files.get(table) ?? [], columns: EMPTY[table]! });
  for (const p of topicViews(projections))
    specs.set(p.name, { files: files.get(p.table) ?? [], columns: TOPIC_COLUMNS });
  /** Views not made yet, by their name as DuckDB matches it (lower case). */
  const todo = new Map([...specs.keys()].map((n) => [n.toLowerCase(), n]));
  const placeheld = new Set<string>();
  // <data_dir>/lakehouse/catalog.duckdb beside <data_dir>/bags: recorded splits the catalog lacks are missing
  // from every answer until the daemon indexes them (a stop interrupted it, or it is queued).
  const waiting = unindexedNote(join(dirname(dirname(paths.catalog)), 'bags'), indexed);
  const views: LazyViews = {
    warnings: waiting ? [waiting] : [],
    files: [],
    names: ['bags', 'projections', ...specs.keys()],
    pending: (name) => todo.has(name.toLowerCase()),
    async define(names) {
      for (const asked of names) {
        const name = todo.get(asked.toLowerCase());
        if (name === undefined) continue;
        todo.delete(asked.toLowerCase());
        const spec = specs.get(name)!;
        views.files.push(...(await view(conn, name, spec.files, spec.columns, views.warnings, placeheld.delete(name))));
      }
    },
    defineAll: () => views.define([...todo.values()]),
    async placeholders() {
      for (const name of todo.values()) {
        if (placeheld.has(name)) continue;
        await conn.run(`CREATE TEMP VIEW ${quoteIdent(name)} AS ${emptyBody(specs.get(name)!.columns)}`);
        placeheld.add(name);
      }
    },
  };
  return views;
}

/** The columns of a topic's view before any file of it exists. */
const TOPIC_COLUMNS = 'log_time BIGINT, publish_time BIGINT, segment_id VARCHAR';

/** A relation with `columns` ("name TYPE, ...") and no rows. */
function emptyBody(columns: string): string {
  return `SELECT * FROM (SELECT ${columns
    .split(', ')
    .map((c) => `NULL::${c.slice(c.lastIndexOf(' ') + 1)} AS ${c.slice(0, c.lastIndexOf(' '))}`)
    .join(', ')}) WHERE false`;
}

/** ATTACHes the catalog read-only as `catalog`, waiting while a writer holds it; says who holds it when that lasts. */
async function attachCatalog(conn: DuckDBConnection, catalog: string, waitMs: number): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    try {
      await conn.run(`ATTACH ${quoteString(catalog)} AS catalog (READ_ONLY)`);
      return;
    } catch (error) {
      const message = errorText(error);
      if (!/lock/i.test(message)) throw new Error(withDamageHint(catalog, message), { cause: error });
      if (performance.now() > deadline)
        throw new CatalogLockedError(
          catalogLockedMessage(
            catalog,
            message,
            waitMs,
            'nothing was read. It is locked for writing, which the daemon does only for a moment at a time',
          ),
        );
      await sleep(ATTACH_RETRY_MS);
    }
  }
}

/**
 * The view name of each projection table, as SQL names it: the topic (`/odom`), or `<topic>#<type>` for a
 * topic's second and later types. `projections` must come in the catalog's `ORDER BY topic, type` order.
 */
export function topicViews<P extends { topic: string; type: string; table: string }>(
  projections: readonly P[],
): (P & { name: string })[] {
  const named = new Set<string>();
  return projections.map((p) => {
    const name = named.has(p.topic) ? `${p.topic}#${p.type}` : p.topic;
    named.add(p.topic);
    return { ...p, name };
  });
}

/**
 * A view over `files`; returns the files it reads. DuckDB reads every file's footer when the view is made, so one bad
 * file would fail it (and, made eagerly, every query): when that happens each file is tried alone and the ones that
 * fail are left out, with warnings: one per damaged file, one per view for files missing from disk (a whole day deleted
 * by hand is hundreds). A view that still fails is made empty, with a warning.
 */
async function view(
  conn: DuckDBConnection,
  name: string,
  files: readonly string[],
  emptyColumns: string,
  warnings: string[],
  replace = false,
): Promise<readonly string[]> {
  const over = (list: readonly string[]) =>
    `SELECT * FROM read_parquet([${list.map(quoteString).join(', ')}], hive_partitioning = true, union_by_name = true)`;
  const empty = emptyBody(emptyColumns);
  const create = (body: string) =>
    conn.run(`CREATE ${replace ? 'OR REPLACE ' : ''}TEMP VIEW ${quoteIdent(name)} AS ${body}`);
  if (files.length === 0) {
    await create(empty);
    return [];
  }
  try {
    await create(over(files));
    return files;
  } catch {
    // some file is bad: find which below
  }
  const good: string[] = [];
  const missing: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) {
      missing.push(f);
      continue;
    }
    try {
      await conn.run(`DESCRIBE SELECT * FROM read_parquet(${quoteString(f)})`);
      good.push(f);
    } catch (error) {
      warnings.push(
        `${f}: ${firstLine(errorText(error))}; its rows are left out of ${quoteIdent(name)} (delete the file to clear this warning: the daemon then takes it off the catalog)`,
      );
    }
  }
  const of = quoteIdent(name);
  if (missing.length > 0) {
    warnings.push(
      `${named(missing)} of ${of} ${missing.length === 1 ? 'is' : 'are'} listed in the catalog but not on disk (deleted by hand, or by retention or compaction as this query started); ` +
        `${missing.length === 1 ? 'its' : 'their'} rows are left out. The daemon takes parquet files missing from disk off the catalog at its start and at each retention pass, which ends this warning; if they were moved, put them back`,
    );
  }
  try {
    await create(good.length > 0 ? over(good) : empty);
    return good;
  } catch (error) {
    warnings.push(`${of} could not be read and is empty here: ${firstLine(errorText(error))}`);
    await create(empty);
    return [];
  }
}

/** `a`, or `a, b and c`, or `a, b, c and 7 more files`. */
function named(list: readonly string[]): string {
  if (list.length === 1) return `parquet file ${list[0]}`;
  const shown = list.slice(0, FILES_NAMED);
  const more = list.length - shown.length;
  return `${list.length} parquet files (${more > 0 ? `${shown.join(', ')} and ${more} more` : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`})`;
}

/**
 * The file of `files` that `error` names and that is no longer on disk, if any: a parquet file deleted
 * (by retention, or by hand) after the views over it were made, which fails the statement reading it.
 */
export function vanishedFile(error: unknown, files: readonly string[]): string | undefined {
  const message = (error as Error | undefined)?.message;
  if (files.length === 0 || typeof message !== 'string') return undefined;
  for (const m of message.matchAll(/"([^"]+\.parquet)"/g)) if (files.includes(m[1]!) && !existsSync(m[1]!)) return m[1];
  return undefined;
}

export function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/**
 * The relations a statement names, from DuckDB's own parse tree (json_serialize_sql): every base table it
 * reads, in subqueries and CTEs too (a CTE's own name is among them; making a view of that name does no
 * harm). `all` when the statement may look at the relations some other way, and every view must be made
 * as before: DuckDB can't serialize the statement (PRAGMA, PIVOT, ...), it lists tables (SHOW TABLES,
 * duckdb_views(), information_schema), or it calls a table function that takes a name (query_table).
 */
export async function statementTables(conn: DuckDBConnection, sql: string): Promise<{ names: string[]; all: boolean }> {
  let tree: unknown;
  try {
    const row = (await conn.runAndReadAll(`SELECT json_serialize_sql(${quoteString(sql)})`)).getRows()[0];
    tree = JSON.parse(String(row?.[0]));
  } catch {
    return { names: [], all: true };
  }
  if (typeof tree !== 'object' || tree === null || (tree as { error?: unknown }).error !== false)
    return { names: [], all: true };
  const names = new Set<string>();
  let all = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (n.type === 'BASE_TABLE' && typeof n.table_name === 'string') {
      if (n.schema_name === '' || n.schema_name === 'main' || n.schema_name === 'temp') names.add(n.table_name);
      else all = true; // information_schema.tables, pg_catalog...
      if (/^(duckdb_|sqlite_|pg_)/i.test(n.table_name)) all = true;
    }
    if (n.type === 'SHOW_REF' && n.query === null) all = true; // SHOW TABLES, SHOW ALL TABLES
    if (n.type === 'TABLE_FUNCTION' || n.class === 'FUNCTION') {
      const fn = typeof n.function_name === 'string' ? n.function_name : '';
      if (/^(duckdb_|pragma_|query_table$|query$|sqlite_|pg_|information_schema)/i.test(fn)) all = true;
    }
    for (const value of Object.values(n)) visit(value);
  };
  visit((tree as { statements?: unknown }).statements);
  return { names: [...names], all };
}
