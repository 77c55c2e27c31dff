import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { missingTableHint } from './table-hint.ts';
import { errorText } from 'auraison-edge/util';

/** What a fleet query may take: how long, how many rows and how much text back, how many at once. */
export interface FleetQueryLimits {
  timeoutMs: number;
  maxRows: number;
  maxBytes: number;
  concurrent: number;
}

/** The answer to a fleet query: `truncated` when it held more than maxRows rows or maxBytes, cut there. */
export interface FleetQueryAnswer {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
  truncated_by?: 'max_rows' | 'max_bytes';
}

/** Why a fleet query got no answer: refused before it ran, stopped, turned away, or DuckDB's own error. */
export type FleetQueryFailure = 'read_only' | 'timeout' | 'busy' | 'query_failed';

/** How often stop() interrupts the queries again while they run. */
const INTERRUPT_EVERY_MS = 20;

/** A query asked for, or still connecting, once central stops: turned away (HTTP 503) as central going away. */
function stopping(): FleetQueryError {
  return new FleetQueryError('busy', 'central is stopping: the fleet query did not run; ask again once it is back');
}

export class FleetQueryError extends Error {
  override name = 'FleetQueryError';
  constructor(
    readonly code: FleetQueryFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface FleetQueryRunnerOptions {
  /** A fresh connection to the query's DuckDB, its lake the default catalog; released after one query. */
  connect: () => Promise<{ connection: DuckDBConnection; release: () => void }>;
  limits: FleetQueryLimits;
  /** Takes out of an error's message what it must not show (the catalog's password). */
  redact?: (message: string) => string;
}

/**
 * Runs the operator's fleet SQL so that it cannot write and cannot take central down. DuckDB's own parser
 * says what the text is (exactly one statement, of SELECT type: EXPLAIN ANALYZE, a WITH ... INSERT and
 * `--x\r; DROP` are not), and it runs in a READ ONLY transaction, in which DuckDB refuses a write to any
 * attached database, the lake's catalog included. Rows are streamed and cut at maxRows; past timeoutMs the
 * connection is interrupted. Each query has its own connection, so an interrupt stops that query alone.
 */
export class FleetQueryRunner {
  readonly #connect: FleetQueryRunnerOptions['connect'];
  readonly #limits: FleetQueryLimits;
  readonly #redact: (message: string) => string;
  readonly #open = new Set<DuckDBConnection>();
  #connecting = 0;
  #closed = false;
  readonly #answers = new Set<Promise<FleetQueryAnswer>>();

  constructor({ connect, limits, redact = (message) => message }: FleetQueryRunnerOptions) {
    this.#connect = connect;
    this.#limits = limits;
    this.#redact = redact;
  }

  /** Queries running now. */
  get running(): number {
    return this.#open.size;
  }

  /** Interrupts every query running, so that central's stop does not wait on one. */
  interruptAll(): void {
    for (const c of this.#open) c.interrupt();
  }

  /**
   * Refuses new queries, interrupts every query running (again and again: DuckDB forgets an interrupt that comes
   * between one statement of a query and the next) and resolves once each has answered and closed its connection.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const again = setInterval(() => this.interruptAll(), INTERRUPT_EVERY_MS);
    this.interruptAll();
    try {
      await Promise.allSettled(this.#answers);
    } finally {
      clearInterval(again);
    }
  }

  run(text: string): Promise<FleetQueryAnswer> {
    const answer = this.#run(text);
    this.#answers.add(answer);
    const forget = () => this.#answers.delete(answer);
    answer.then(forget, forget);
    return answer;
  }

  async #run(text: string): Promise<FleetQueryAnswer> {
    if (this.#closed) throw stopping();
    const { concurrent } = this.#limits;
    // DuckDB's memory_limit is the instance's: more queries at once share it, so they are turned away instead.
    if (this.#open.size + this.#connecting >= concurrent)
      throw new FleetQueryError(
        'busy',
        `${concurrent} fleet queries are running (fleet_query.concurrent): try again when one has answered`,
      );
    this.#connecting++;
    let opened: Awaited<ReturnType<FleetQueryRunnerOptions['connect']>>;
    try {
      opened = await this.#connect();
    } finally {
      this.#connecting--;
    }
    const { connection: c, release } = opened;
    if (this.#closed) {
      release();
      throw stopping();
    }
    this.#open.add(c);
    try {
      return await this.#runOn(c, text);
    } finally {
      this.#open.delete(c);
      release();
    }
  }

  async #runOn(c: DuckDBConnection, text: string): Promise<FleetQueryAnswer> {
    const { timeoutMs, maxRows, maxBytes } = this.#limits;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      c.interrupt();
    }, timeoutMs);
    await c.run('BEGIN TRANSACTION READ ONLY');
    try {
      const statement = await this.#onlySelect(c, text);
      const result = await statement.stream();
      const columns = result.columnNames();
      const rows: unknown[][] = [];
      let bytes = 0;
      let cut: FleetQueryAnswer['truncated_by'];
      // The cut is made here, on the stream: a 30M-row answer never lies whole in central's memory.
      read: for await (const chunk of result.yieldRowsJson()) {
        if (timedOut) break;
        for (const row of chunk) {
          if (rows.length === maxRows) cut = 'max_rows';
          else if ((bytes += textSize(row)) > maxBytes) cut = 'max_bytes';
          if (cut) break read;
          rows.push(row);
        }
      }
      if (timedOut) throw this.#timeout();
      return { columns, rows, truncated: cut !== undefined, ...(cut ? { truncated_by: cut } : {}) };
    } catch (error) {
      if (error instanceof FleetQueryError) throw error;
      if (timedOut) throw this.#timeout();
      await c.run('ROLLBACK').catch(() => undefined);
      const message = await missingTableHint(c, errorText(error));
      throw new FleetQueryError('query_failed', this.#redact(message));
    } finally {
      clearTimeout(timer);
      // A query cut at maxRows may still run: stop it before its transaction ends.
      c.interrupt();
      await c.run('ROLLBACK').catch(() => undefined);
    }
  }

  /** The text's one statement, prepared, when DuckDB's parser says it is a SELECT; else a read_only refusal. */
  async #onlySelect(c: DuckDBConnection, text: string) {
    // DuckDB's own errors (a syntax error, an unknown table) go to the caller as query_failed.
    const extracted = await c.extractStatements(text);
    if (extracted.count !== 1)
      throw new FleetQueryError(
        'read_only',
        `DuckDB reads ${extracted.count} statements in this text: the fleet query runs one SELECT at a time`,
      );
    const statement = await extracted.prepare(0);
    if (statement.statementType !== StatementType.SELECT) {
      const kind = StatementType[statement.statementType] ?? String(statement.statementType);
      statement.destroySync();
      throw new FleetQueryError(
        'read_only',
        `the fleet lakehouse is read-only here: DuckDB reads this statement as ${kind}, and only a SELECT runs`,
      );
    }
    const acting = await actingFunctions(c, text);
    if (acting.length > 0) {
      statement.destroySync();
      throw new FleetQueryError(
        'read_only',
        `the fleet query reads only: ${acting.join(', ')} would act on the lake's files or run other SQL, and is refused`,
      );
    }
    return statement;
  }

  #timeout(): FleetQueryError {
    const s = this.#limits.timeoutMs / 1000;
    return new FleetQueryError(
      'timeout',
      `the fleet query ran past ${s} s (fleet_query.timeout_s) and was stopped: narrow it (a WHERE on robot or time, an aggregate, a LIMIT), or raise fleet_query.timeout_s in central.yaml`,
    );
  }
}

/** DuckLake's functions that only read; every other ducklake_* function maintains the lake (deletes, rewrites). */
const READING_DUCKLAKE = new Set([
  'ducklake_snapshots',
  'ducklake_table_info',
  'ducklake_list_files',
  'ducklake_table_changes',
  'ducklake_table_insertions',
  'ducklake_table_deletions',
  'ducklake_options',
  'ducklake_current_snapshot',
  'ducklake_last_committed_snapshot',
]);
/** Functions of DuckDB that run other SQL (unseen by the checks above) or write the database files. */
const ACTING = new Set(['query', 'query_table', 'checkpoint', 'force_checkpoint']);

/**
 * The functions a SELECT calls that would act: DuckLake's maintenance functions are table functions a SELECT may
 * call, and they delete or write files in the data path before the read-only catalog refuses their metadata change
 * (ducklake_cleanup_old_files deleted a file a read-only attach still lists). DuckDB's own parser names every
 * function the text calls, in subqueries and CTEs too (json_serialize_sql).
 */
async function actingFunctions(c: DuckDBConnection, text: string): Promise<string[]> {
  const parsed = await c.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [text]);
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      const { function_name: name } = value as { function_name?: unknown };
      if (typeof name === 'string') names.add(name.toLowerCase());
      Object.values(value).forEach(walk);
    }
  };
  walk(JSON.parse(String(parsed.getRows()[0]?.[0] ?? '{}')));
  return [...names].filter((n) => ACTING.has(n) || (n.startsWith('ducklake_') && !READING_DUCKLAKE.has(n))).sort();
}

/** About what a row takes as JSON text: its strings' lengths, a few characters for anything else. */
function textSize(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textSize(v), 2);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).reduce((n, [k, v]) => n + k.length + 3 + textSize(v), 2);
  return 8;
}
