import { totalmem } from 'node:os';
import { DuckDBInstance, JsonDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import { lakehousePaths } from './catalog.ts';
import { openViews, statementTables, vanishedFile, type LazyViews } from './query-views.ts';
import { quoteIdent, quoteString } from './sql-text.ts';
import { errorText } from '../util/index.ts';

export { defineViewsOver, openViews, statementTables, topicViews, vanishedFile } from './query-views.ts';

export interface QueryResult {
  columns: QueryColumn[];
  /** JSON-safe values: BIGINTs as strings when they don't fit a double, lists as arrays. */
  rows: unknown[][];
  truncated: boolean;
  /** Which limit cut the rows, when truncated. */
  truncated_by?: 'max_rows' | 'max_bytes';
  /** Parquet files left out because they could not be read (damaged, empty, missing), each named; absent when none. */
  warnings?: string[];
}

export interface QueryColumn {
  name: string;
  type: string;
}

export interface QueryOptions {
  timeoutMs?: number;
  maxRows?: number;
  /** Most bytes the rows may take as JSON; the row that would pass it and the rest are cut. */
  maxBytes?: number;
  /**
   * Runs once the views the statement names are defined, before it runs, with the parquet files they read
   * (tests delete a file there, as retention may, and check which files a statement reads).
   */
  viewsDefined?: (files: readonly string[]) => Promise<void> | void;
  /** Stops the query where it is (the daemon's stop): it fails saying so. */
  signal?: AbortSignal;
  /** How long to wait for a catalog another process holds for writing (default 10 s). */
  catalogWaitMs?: number;
}

/** Where streamLakehouse hands the result, a row at a time. */
export interface RowSink {
  /** The columns and the warnings, once the first chunk of rows is read (or the result is known empty). */
  start(columns: QueryColumn[], warnings: string[]): void;
  row(values: unknown[]): void;
  /**
   * Whether what was handed over can be taken back: a sink that only collects can start over when a file
   * the query reads is deleted under it (retention, by hand); one that printed rows can't.
   */
  restartable?: boolean;
}

export type StreamSummary = Omit<QueryResult, 'columns' | 'rows'> & { rows: number };

export class QueryRefused extends Error {
  override name = 'QueryRefused';
}

const STATEMENT_SELECT = 1;
/** Runs of a query a deleted file may cost before its failure is the user's to see. */
const VANISHED_RETRIES = 2;

/**
 * Runs read-only SQL over the lakehouse: `bags` and `projections` from the catalog, `messages`,
 * `raw_messages`, `events` and one view per projected topic, named by the topic (`"/odom"`), over the
 * Hive-partitioned parquet files the catalog lists as committed (see openViews). A listed file that
 * can't be read (torn by a power cut, emptied, deleted by hand) is left out with a warning naming it, so it
 * costs its own rows and no query fails for it. Anything but a SELECT is refused before it runs.
 */
export function queryLakehouse(dataDir: string, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  return collectRows((sink) => streamLakehouse(dataDir, sql, sink, options));
}

/** The rows a streaming run hands its sink, collected into a QueryResult (a restart starts them over). */
export async function collectRows(stream: (sink: RowSink) => Promise<StreamSummary>): Promise<QueryResult> {
  let columns: QueryColumn[] = [];
  let rows: unknown[][] = [];
  const summary = await stream({
    restartable: true,
    start: (c) => {
      columns = c;
      rows = [];
    },
    row: (r) => rows.push(r),
  });
  const { truncated, truncated_by, warnings } = summary;
  return { columns, rows, truncated, ...(truncated_by ? { truncated_by } : {}), ...(warnings ? { warnings } : {}) };
}

/**
 * queryLakehouse, handing rows to `sink` as DuckDB streams them: memory stays bounded however many rows
 * the query returns (`maxRows` and `maxBytes` still cut it). A parquet file deleted while the query reads
 * it (retention deletes the oldest data while the daemon records) fails the run; it is run again with the
 * catalog read anew, up to twice, unless the sink has handed out rows already.
 */
export async function streamLakehouse(
  dataDir: string,
  sql: string,
  sink: RowSink,
  options: QueryOptions = {},
): Promise<StreamSummary> {
  for (let attempt = 0; ; attempt++) {
    let started = false;
    const watched: RowSink = { start: (c, w) => ((started = true), sink.start(c, w)), row: (r) => sink.row(r) };
    try {
      return await runOnce(dataDir, sql, watched, options);
    } catch (error) {
      const gone = (error as { vanished?: string }).vanished;
      if (gone === undefined) throw error;
      if (attempt < VANISHED_RETRIES && (!started || sink.restartable)) continue;
      throw new Error(
        `parquet file ${gone} was deleted while this query read it (retention deletes the oldest data while the daemon records, compaction replaces small files with merged ones, or it was deleted by hand): run the query again`,
      );
    }
  }
}

async function runOnce(dataDir: string, sql: string, sink: RowSink, options: QueryOptions): Promise<StreamSummary> {
  const { timeoutMs = 30_000, maxRows = 10_000, maxBytes = Infinity } = options;
  const paths = lakehousePaths(dataDir);
  // DuckDB takes 80% of the RAM by default; on a robot the query shares it with everything else. (Values
  // a query returns are not counted against it: maxBytes bounds those.)
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: QUERY_MEMORY_LIMIT });
  const conn = await instance.connect();
  let files: readonly string[] = [];
  try {
    const views = await openViews(conn, paths, options.catalogWaitMs);
    files = views.files;
    const statements = await conn.extractStatements(sql).catch(async (error: Error) => {
      await views.placeholders();
      throw new Error(`${error.message.replace(/^Failed to extract statements: /, '')}\n${await tablesHint(conn)}`);
    });
    if (statements.count === 0) throw new QueryRefused('no SQL statement given');
    if (statements.count > 1) throw new QueryRefused('one statement at a time, please');
    // Only the views the statement names are made: each reads every footer of its files.
    const named = await statementTables(conn, sql);
    await (named.all ? views.defineAll() : views.define(named.names));
    await options.viewsDefined?.(files);
    const prepared = await prepare(conn, statements, views, paths.root, sql);
    if (prepared.statementType !== STATEMENT_SELECT)
      throw new QueryRefused('the lakehouse is read-only here: only SELECT statements run (and WITH ... SELECT)');
    // Files outside the lakehouse are out of reach: a query can read the tables, not the rest of the disk.
    await conn.run(`SET allowed_directories = [${quoteString(paths.root + '/')}]`);
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    // An interrupt that lands before DuckDB has started the statement is lost (the statement then runs to
    // its end): so once the time is up, interrupt again until the statement has stopped.
    let repeat: NodeJS.Timeout | undefined;
    const interrupt = () => {
      conn.interrupt();
      repeat ??= setInterval(() => conn.interrupt(), 20);
    };
    const timer = setTimeout(interrupt, timeoutMs);
    const { signal } = options;
    signal?.addEventListener('abort', interrupt, { once: true });
    if (signal?.aborted) interrupt();
    try {
      const result = await conn.stream(sql);
      const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
      let rows = 0;
      let bytes = 2; // the brackets of the rows array
      let begun = false;
      const begin = () => {
        if (!begun) sink.start(columns, views.warnings);
        begun = true;
      };
      const done = (truncated_by?: 'max_rows' | 'max_bytes'): StreamSummary => {
        begin();
        return {
          rows,
          truncated: truncated_by !== undefined,
          ...(truncated_by ? { truncated_by } : {}),
          ...(views.warnings.length > 0 ? { warnings: views.warnings } : {}),
        };
      };
      // One chunk and one row at a time, each row converted to JSON-safe values and its JSON bytes counted;
      // nothing after the row that crosses a limit is converted (that one row is, once): a result of a few
      // huge values would otherwise be copied into the JS heap whole before being cut.
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        begin();
        for (let i = 0; i < chunk.rowCount; i++) {
          if (rows === maxRows) return done('max_rows');
          const row = chunk.convertRowValues(i, JsonDuckDBValueConverter);
          bytes += Buffer.byteLength(JSON.stringify(row)) + (rows > 0 ? 1 : 0);
          if (bytes > maxBytes) return done('max_bytes');
          sink.row(row);
          rows++;
        }
      }
      return done();
    } catch (error) {
      if (/interrupt/i.test(errorText(error)))
        throw new QueryRefused(
          signal?.aborted
            ? 'the query was stopped: the daemon is stopping'
            : `the query ran past ${timeoutMs} ms and was stopped`,
        );
      throw error;
    } finally {
      clearTimeout(timer);
      clearInterval(repeat);
      signal?.removeEventListener('abort', interrupt);
    }
  } catch (error) {
    const gone = vanishedFile(error as Error, files);
    if (gone !== undefined) Object.assign(error as Error, { vanished: gone });
    throw error;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * Prepares the statement. A table of the lakehouse it names that statementTables missed has its view made
 * and the statement is prepared again; any other failure is explained as before, with every relation
 * there (empty placeholders for the views not made: only their names matter to the message).
 */
async function prepare(
  conn: DuckDBConnection,
  statements: Awaited<ReturnType<DuckDBConnection['extractStatements']>>,
  views: LazyViews,
  root: string,
  sql: string,
) {
  // (statements extracted once prepare only once: a statement prepared again is extracted again)
  const again = async () => (await conn.extractStatements(sql)).prepare(0);
  for (let first = true; ; first = false) {
    try {
      return await (first ? statements.prepare(0) : again());
    } catch (error) {
      const missing = /Table with name (.*?) does not exist/.exec(errorText(error))?.[1];
      if (missing !== undefined && views.pending(missing)) {
        await views.define([missing]);
        continue;
      }
      if (missing === undefined) throw await explained(conn, error as Error, root, sql);
      await views.placeholders();
      // prepared again, so DuckDB's "Did you mean" looks at every relation
      throw await explained(
        conn,
        await again().then(
          () => error as Error,
          (failure: Error) => failure,
        ),
        root,
        sql,
      );
    }
  }
}

/** How many of the lakehouse's topics an error about a missing one lists. */
const TOPICS_LISTED = 12;
/** How many columns of a table an error about a missing column lists. */
const COLUMNS_LISTED = 80;

/**
 * DuckDB's error for a statement that doesn't bind, with what the user needs to fix it: the tables there
 * are (an unknown table), the columns of the tables the statement names (an unknown column), and for a
 * topic the lakehouse lacks, how topics get there.
 */
async function explained(conn: DuckDBConnection, error: Error, root: string, sql: string): Promise<Error> {
  const message = error.message;
  if (/Can only (delete|update|insert)|read-only/i.test(message))
    return new QueryRefused('the lakehouse is read-only here: only SELECT statements run (and WITH ... SELECT)');
  const table = /Table with name (.*?) does not exist/.exec(message)?.[1];
  if (table?.startsWith('/')) return new Error(await missingTopic(conn, table, root, message));
  if (table !== undefined) return new Error(`${message}\n${await tablesHint(conn)}`);
  if (/Binder Error: .*(column .* not found|Column .* does not exist|does not have a column named)/.test(message)) {
    const hint = await columnsHint(conn, sql);
    if (hint) return new Error(`${message}\n${hint}`);
  }
  return error;
}

/** The lakehouse's relations (those a query can name), for errors. */
async function relations(conn: DuckDBConnection): Promise<string[]> {
  const rows = (
    await conn.runAndReadAll(
      'SELECT view_name AS name FROM duckdb_views() WHERE temporary AND NOT internal UNION ALL SELECT table_name FROM duckdb_tables() WHERE temporary AND NOT internal',
    )
  ).getRows();
  const names = rows.map((r) => String(r[0]));
  const ours = ['bags', 'projections', 'messages', 'raw_messages', 'events'].filter((n) => names.includes(n));
  return [...ours, ...names.filter((n) => !ours.includes(n)).sort()];
}

/** `Tables: bags, messages, ..., "/odom" (DESCRIBE "<table>" lists its columns).` */
async function tablesHint(conn: DuckDBConnection): Promise<string> {
  const all = (await relations(conn)).map((n) => sqlName(n));
  const shown =
    all.length > TOPICS_LISTED + 5
      ? `${all.slice(0, TOPICS_LISTED + 5).join(', ')} and ${all.length - TOPICS_LISTED - 5} more (SELECT DISTINCT topic FROM messages)`
      : all.join(', ');
  return `Tables: ${shown}. A topic is named in double quotes ("/odom"); DESCRIBE "/odom" lists its columns.`;
}

/** The columns of each lakehouse relation the statement names, or undefined when it names none. */
async function columnsHint(conn: DuckDBConnection, sql: string): Promise<string | undefined> {
  const lines: string[] = [];
  const reserved = new Set(
    (await conn.runAndReadAll("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"))
      .getRows()
      .map((r) => String(r[0])),
  );
  for (const name of await relations(conn)) {
    const quoted = sql.includes(quoteIdent(name));
    const bare =
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) &&
      new RegExp(`\\b${name}\\b`, 'i').test(sql.replace(/"[^"]*"|'[^']*'/g, ' '));
    if (!quoted && !bare) continue;
    const cols = (await conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE ${quoteIdent(name)})`))
      .getRows()
      .map((r) => sqlName(String(r[0]), reserved));
    const shown =
      cols.length > COLUMNS_LISTED
        ? `${cols.slice(0, COLUMNS_LISTED).join(', ')} and ${cols.length - COLUMNS_LISTED} more (DESCRIBE ${quoteIdent(name)})`
        : cols.join(', ');
    lines.push(`Columns of ${sqlName(name)}: ${shown}.`);
  }
  return lines.length > 0
    ? `${lines.join('\n')}\nA column whose name holds dots is named in double quotes ("twist.twist.linear.x").`
    : undefined;
}

/** A name as SQL must spell it: quoted unless it is a plain lower-case word (and not one of `reserved`). */
function sqlName(name: string, reserved: ReadonlySet<string> = new Set()): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !reserved.has(name) ? name : quoteIdent(name);
}

/**
 * DuckDB's words for a topic the lakehouse lacks ("Table with name /odom does not exist! Did you mean
 * "/tf"?") suggest a typo; far more often the topic was never recorded (the recorder is off by default) or
 * imported. So the message says what the lakehouse holds and how topics get into it.
 */
async function missingTopic(
  conn: DuckDBConnection,
  topic: string,
  root: string,
  duckdbMessage: string,
): Promise<string> {
  // Every topic, with or without a leading slash: real bags hold `cmd_vel`, which bag play publishes as /cmd_vel.
  const topics =
    (await conn.runAndReadAll('SELECT DISTINCT topic FROM projections ORDER BY topic').catch(() => undefined))
      ?.getRows()
      .map((r) => String(r[0])) ?? [];
  const unslashed = topics.find((t) => `/${t}` === topic);
  const suggested = /Did you mean "([^"]*)"\?/.exec(duckdbMessage)?.[1];
  const guess = unslashed ?? (suggested !== undefined && topics.includes(suggested) ? suggested : undefined);
  const listed =
    topics.length > TOPICS_LISTED
      ? `${topics.slice(0, TOPICS_LISTED).join(', ')} and ${topics.length - TOPICS_LISTED} more (SELECT DISTINCT topic FROM messages)`
      : topics.join(', ');
  // Recorded or imported, but with no table: its messages were not decoded into columns (over
  // lakehouse.project_max_message_bytes, or left out by lakehouse.project / project_exclude).
  const segments = Number(
    (
      await conn
        .runAndReadAll(`SELECT count(*) FROM bags WHERE list_contains(topics, ${quoteString(topic)})`)
        .catch(() => undefined)
    )?.getRows()[0]?.[0] ?? 0,
  );
  if (segments > 0) {
    return (
      `no table for topic ${topic} in the lakehouse at ${root}: it was recorded (${segments} segment(s); its messages are in the messages table: SELECT * FROM messages WHERE topic = ${quoteString(topic)}), ` +
      `but not decoded into columns: its messages are larger than lakehouse.project_max_message_bytes (64 KiB by default: images, point clouds, a large map), or the topic is not in lakehouse.project or is in lakehouse.project_exclude. ` +
      `Change that key to query it by field; it applies to what is indexed from then on.`
    );
  }
  const bare = unslashed
    ? ` (the bag names it without a leading slash, and bag play publishes it as ${topic}: SELECT * FROM "${unslashed}")`
    : '';
  const has =
    topics.length === 0
      ? 'It has no topics yet.'
      : `${guess ? `Did you mean "${guess}"${bare}? ` : ''}Its topics: ${listed}.`;
  return `no topic ${topic} in the lakehouse at ${root}. ${has} Topics get there when the daemon records them (recorder.enabled: true; the recorder is off by default; a split is indexed once it closes, at recorder.split_max_bytes or split_max_duration_s) or from \`auraison-edge bag import PATH\`.`;
}

/** 1 GiB, or a quarter of the RAM on a smaller machine. */
const QUERY_MEMORY_LIMIT = `${Math.min(1024, Math.floor(totalmem() / 4 / 2 ** 20))}MiB`;
