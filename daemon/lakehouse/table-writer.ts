import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { newId } from '../contract/ids.ts';

export interface TableColumn {
  name: string;
  sql: string;
}

const CHUNK_ROWS = 2048;

/** `"name"` with quotes doubled: any column or table name is safe in SQL this way. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The UTC date of a time in ns, as the `date=` partition names it. */
export function partitionDate(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);
}

/**
 * Collects rows of one lakehouse table and writes them as parquet through DuckDB, into
 * `<staging>/<table>/robot=<id>/date=<yyyy-mm-dd>/part-<uuid>.parquet`: rows go into a DuckDB temp table
 * 2048 at a time (native memory, not the JS heap), and `flush()` (or every `batchRows` rows) copies them out
 * as one file per date, never a file per message, since many tiny files make DuckDB slow.
 * `commitStaged()` moves the files into the tables directory; until then nothing is visible to queries.
 */
export class TableWriter {
  readonly table: string;
  readonly columns: TableColumn[];
  #conn: DuckDBConnection;
  #staging: string;
  #robot: string;
  #batchRows: number;
  #buffer: DuckDBValue[][];
  #dates: string[] = [];
  #buffered = 0;
  #staged = 0;
  #temp: string;
  #types: DuckDBType[] | undefined;
  #appender: DuckDBAppender | undefined;
  #files: string[] = [];
  rowsWritten = 0;

  constructor(options: { conn: DuckDBConnection; staging: string; table: string; robot: string; columns: TableColumn[]; batchRows?: number }) {
    const { conn, staging, table, robot, columns, batchRows = 200_000 } = options;
    this.#conn = conn;
    this.#staging = staging;
    this.table = table;
    this.#robot = robot;
    this.columns = columns;
    this.#batchRows = batchRows;
    this.#buffer = columns.map(() => []);
    this.#temp = `stage_${newId().replace(/-/g, '')}`;
  }

  /** Staged parquet files, relative to the staging root. */
  get files(): readonly string[] {
    return this.#files;
  }

  async add(date: string, row: DuckDBValue[]): Promise<void> {
    const b = this.#buffer;
    for (let i = 0; i < row.length; i++) b[i]!.push(row[i]!);
    this.#dates.push(date);
    if (++this.#buffered >= CHUNK_ROWS) await this.#append();
    if (this.#staged + this.#buffered >= this.#batchRows) await this.flush();
  }

  /** Writes what is collected into one parquet file per date. */
  async flush(): Promise<void> {
    await this.#append();
    if (this.#staged === 0) return;
    this.#appender!.closeSync();
    this.#appender = undefined;
    const dir = join(this.#staging, this.table);
    mkdirSync(dir, { recursive: true });
    const before = new Set(listParquet(dir));
    await this.#conn.run(
      `COPY ${this.#temp} TO ${quoteString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (robot, date), FILENAME_PATTERN 'part-{uuid}', OVERWRITE_OR_IGNORE true)`,
    );
    await this.#conn.run(`DELETE FROM ${this.#temp}`);
    for (const f of listParquet(dir)) if (!before.has(f)) this.#files.push(join(this.table, f));
    this.rowsWritten += this.#staged;
    this.#staged = 0;
  }

  async drop(): Promise<void> {
    this.#appender?.closeSync();
    this.#appender = undefined;
    if (this.#types) await this.#conn.run(`DROP TABLE IF EXISTS ${this.#temp}`);
  }

  async #append(): Promise<void> {
    if (this.#buffered === 0) return;
    if (!this.#types) {
      const cols = [...this.columns.map((c) => `${quoteIdent(c.name)} ${c.sql}`), 'robot VARCHAR', 'date VARCHAR'];
      await this.#conn.run(`CREATE TEMP TABLE ${this.#temp} (${cols.join(', ')})`);
      this.#types = (await this.#conn.run(`SELECT * FROM ${this.#temp} LIMIT 0`)).columnTypes();
    }
    this.#appender ??= await this.#conn.createAppender(this.#temp, 'main', 'temp');
    const chunk = DuckDBDataChunk.create(this.#types, this.#buffered);
    chunk.setColumns([...this.#buffer, new Array<DuckDBValue>(this.#buffered).fill(this.#robot), this.#dates]);
    this.#appender.appendDataChunk(chunk);
    this.#staged += this.#buffered;
    this.#buffer = this.columns.map(() => []);
    this.#dates = [];
    this.#buffered = 0;
  }
}

function listParquet(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...listParquet(join(dir, e.name), join(prefix, e.name)));
    else if (e.name.endsWith('.parquet')) out.push(join(prefix, e.name));
  }
  return out;
}

/** Moves staged files into `tablesDir` (same file system: renames), then removes the staging dir. */
export function commitStaged(staging: string, tablesDir: string, files: readonly string[]): string[] {
  const moved: string[] = [];
  for (const rel of files) {
    const to = join(tablesDir, rel);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(join(staging, rel), to);
    moved.push(to);
  }
  rmSync(staging, { recursive: true, force: true });
  return moved;
}
