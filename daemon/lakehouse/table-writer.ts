import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBDataChunk, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
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
 * Collects rows of one lakehouse table column by column and writes them as parquet through DuckDB, into
 * `<staging>/<table>/robot=<id>/date=<yyyy-mm-dd>/part-<uuid>.parquet`: one file per date per `flush()`
 * (and per `batchRows` rows), never a file per message, since many tiny files make DuckDB slow.
 * `commit()` moves the files into the tables directory; until then nothing is visible to queries.
 */
export class TableWriter {
  readonly table: string;
  readonly columns: TableColumn[];
  #conn: DuckDBConnection;
  #staging: string;
  #robot: string;
  #batchRows: number;
  #dates = new Map<string, DuckDBValue[][]>();
  #rows = 0;
  #temp: string;
  #types: DuckDBType[] | undefined;
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
    this.#temp = `stage_${newId().replace(/-/g, '')}`;
  }

  /** Staged parquet files, relative to the staging root. */
  get files(): readonly string[] {
    return this.#files;
  }

  async add(date: string, row: DuckDBValue[]): Promise<void> {
    let cols = this.#dates.get(date);
    if (!cols) {
      cols = this.columns.map(() => []);
      this.#dates.set(date, cols);
    }
    for (let i = 0; i < row.length; i++) cols[i]!.push(row[i]!);
    if (++this.#rows >= this.#batchRows) await this.flush();
  }

  /** Writes what is collected into one parquet file per date. */
  async flush(): Promise<void> {
    if (this.#rows === 0) return;
    if (!this.#types) {
      await this.#conn.run(`CREATE TEMP TABLE ${this.#temp} (${this.columns.map((c) => `${quoteIdent(c.name)} ${c.sql}`).join(', ')})`);
      const probe = await this.#conn.run(`SELECT * FROM ${this.#temp} LIMIT 0`);
      this.#types = probe.columnTypes();
    }
    for (const [date, cols] of this.#dates) {
      const appender = await this.#conn.createAppender(this.#temp, 'main', 'temp');
      const n = cols[0]!.length;
      for (let start = 0; start < n; start += CHUNK_ROWS) {
        const end = Math.min(n, start + CHUNK_ROWS);
        const chunk = DuckDBDataChunk.create(this.#types, end - start);
        chunk.setColumns(cols.map((c) => c.slice(start, end)));
        appender.appendDataChunk(chunk);
      }
      appender.closeSync();
      const rel = join(this.table, `robot=${this.#robot}`, `date=${date}`, `part-${newId()}.parquet`);
      const path = join(this.#staging, rel);
      mkdirSync(dirname(path), { recursive: true });
      await this.#conn.run(`COPY ${this.#temp} TO ${quoteString(path)} (FORMAT parquet, COMPRESSION zstd)`);
      await this.#conn.run(`DELETE FROM ${this.#temp}`);
      this.#files.push(rel);
      this.rowsWritten += n;
    }
    this.#dates.clear();
    this.#rows = 0;
  }

  async drop(): Promise<void> {
    if (this.#types) await this.#conn.run(`DROP TABLE IF EXISTS ${this.#temp}`);
  }
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
