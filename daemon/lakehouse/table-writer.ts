import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { newId } from '../contract/ids.ts';
import { BATCH_ROWS, columnStore, fillChunk, resetStores, setValue, type ColumnStore } from './column-batch.ts';

export interface TableColumn {
  name: string;
  sql: string;
  /**
   * A VARCHAR column with few distinct values (segment, topic, type): staged as an INTEGER code and turned
   * back into the string when the parquet is written, so no string crosses into DuckDB per row.
   */
  dict?: boolean;
}

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

const DAY_NS = 86_400_000_000_000n;

/**
 * Collects rows of one lakehouse table and writes them as parquet through DuckDB, into
 * `<staging>/<table>/robot=<id>/date=<yyyy-mm-dd>/part-<uuid>.parquet`. Rows are filled column-wise into
 * typed arrays (`stores`, `row`, `commit`), 2048 at a time, and go into a DuckDB temp table as one data
 * chunk through the Appender (native memory, not the JS heap); `flush()` (or the caller, once `commit`
 * says `batchRows` are staged) copies them out as one file per date, never a file per message, since many
 * tiny files make DuckDB slow. `commitStaged()` moves the files into the tables directory; until then
 * nothing is visible to queries.
 */
export class TableWriter {
  readonly table: string;
  readonly columns: TableColumn[];
  #conn: DuckDBConnection;
  #staging: string;
  #robot: string;
  #batchRows: number;
  #stores: ColumnStore[];
  #days = new Int32Array(BATCH_ROWS);
  #dayStore: ColumnStore = { kind: 'fixed', d: this.#days, big: false, bool: false, nulls: undefined };
  #dayStart = 0n;
  #dayEnd = 0n;
  #day = 0;
  #dicts: Map<string, number>[];
  #dictValues: string[][];
  #row = 0;
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
    this.#stores = columns.map((c) => columnStore(c.dict ? 'INTEGER' : c.sql));
    this.#dicts = columns.map(() => new Map());
    this.#dictValues = columns.map(() => []);
    this.#temp = `stage_${newId().replace(/-/g, '')}`;
  }

  /** Staged parquet files, relative to the staging root. */
  get files(): readonly string[] {
    return this.#files;
  }

  /** The column stores of the current chunk, in column order; write row `row` of each, then `commit`. */
  get stores(): readonly ColumnStore[] {
    return this.#stores;
  }

  /** The index in the stores of the row being written. */
  get row(): number {
    return this.#row;
  }

  /** The code of a `dict` column's value. */
  code(column: number, value: string): number {
    const dict = this.#dicts[column]!;
    let code = dict.get(value);
    if (code === undefined) {
      code = this.#dictValues[column]!.push(value) - 1;
      dict.set(value, code);
    }
    return code;
  }

  /**
   * Ends the row being written, partitioned by the UTC date of `ns`. Returns true when `batchRows` rows are
   * staged: then await `flush()`.
   */
  commit(ns: bigint): boolean {
    if (ns < this.#dayStart || ns >= this.#dayEnd) {
      this.#day = Math.floor(Number(ns / 1_000_000n) / 86_400_000);
      this.#dayStart = BigInt(this.#day) * DAY_NS;
      this.#dayEnd = this.#dayStart + DAY_NS;
      if (ns < 0n) this.#dayEnd = this.#dayStart; // ms truncate towards zero before 1970: no cache there
    }
    this.#days[this.#row] = this.#day;
    if (++this.#row >= BATCH_ROWS) this.#append();
    return this.#staged + this.#row >= this.#batchRows;
  }

  /** Adds one row of DuckDB values (dict columns take their strings). */
  async add(date: string, row: DuckDBValue[]): Promise<void> {
    await this.open();
    const r = this.#row;
    for (let i = 0; i < row.length; i++) {
      const v = row[i]!;
      setValue(this.#stores[i]!, r, this.columns[i]!.dict && v != null ? this.code(i, String(v)) : v);
    }
    if (this.commit(BigInt(Date.parse(`${date}T00:00:00Z`)) * 1_000_000n)) await this.flush();
  }

  /** Writes what is collected into one parquet file per date. */
  async flush(): Promise<void> {
    this.#append();
    if (this.#staged === 0) return;
    this.#appender!.closeSync();
    this.#appender = undefined;
    const dir = join(this.#staging, this.table);
    mkdirSync(dir, { recursive: true });
    const before = new Set(listParquet(dir));
    const select = this.columns.map((c, i) => {
      if (!c.dict) return quoteIdent(c.name);
      const values = this.#dictValues[i]!;
      return `${values.length ? `[${values.map(quoteString).join(', ')}]` : '[]::VARCHAR[]'}[${quoteIdent(c.name)} + 1] AS ${quoteIdent(c.name)}`;
    });
    await this.#conn.run(
      `COPY (SELECT ${select.join(', ')}, ${quoteString(this.#robot)} AS robot, strftime(DATE '1970-01-01' + "_day", '%Y-%m-%d') AS date FROM ${this.#temp}) TO ${quoteString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (robot, date), FILENAME_PATTERN 'part-{uuid}', OVERWRITE_OR_IGNORE true)`,
    );
    await this.#conn.run(`DELETE FROM ${this.#temp}`);
    this.#appender = await this.#conn.createAppender(this.#temp, 'main', 'temp');
    for (const f of listParquet(dir)) if (!before.has(f)) this.#files.push(join(this.table, f));
    this.rowsWritten += this.#staged;
    this.#staged = 0;
  }

  async drop(): Promise<void> {
    this.#appender?.closeSync();
    this.#appender = undefined;
    if (this.#types) await this.#conn.run(`DROP TABLE IF EXISTS ${this.#temp}`);
  }

  /** Creates the temp table and its appender; the row methods need it (`add` calls it itself). */
  async open(): Promise<this> {
    if (this.#types) return this;
    const cols = [...this.columns.map((c) => `${quoteIdent(c.name)} ${c.dict ? 'INTEGER' : c.sql}`), '"_day" INTEGER'];
    await this.#conn.run(`CREATE TEMP TABLE ${this.#temp} (${cols.join(', ')})`);
    this.#types = (await this.#conn.run(`SELECT * FROM ${this.#temp} LIMIT 0`)).columnTypes();
    this.#appender = await this.#conn.createAppender(this.#temp, 'main', 'temp');
    return this;
  }

  /** Appends the current chunk's rows: synchronous, the Appender copies the chunk. */
  #append(): void {
    const rows = this.#row;
    if (rows === 0) return;
    if (!this.#types || !this.#appender) throw new Error(`lakehouse table ${this.table}: TableWriter.open() was not awaited before rows were written`);
    const chunk = DuckDBDataChunk.create(this.#types, rows);
    fillChunk(chunk, [...this.#stores, this.#dayStore], rows);
    this.#appender.appendDataChunk(chunk);
    this.#staged += rows;
    resetStores(this.#stores);
    this.#row = 0;
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
