import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DuckDBTableFunction,
  DuckDBTypeId,
  ENUM,
  type DuckDBConnection,
  type DuckDBInstance,
  type DuckDBValue,
} from '@duckdb/node-api';
import {
  BATCH_ROWS,
  chunkBytes,
  dayStore,
  columnStore,
  fillChunk,
  resetStores,
  setValue,
  type ColumnStore,
  type FixedColumn,
} from './column-batch.ts';
import { listParquet } from './parquet-files.ts';
import { quoteIdent, quoteString } from './sql-text.ts';
import { errorText } from '../util/index.ts';

export interface TableColumn {
  name: string;
  sql: string;
  /**
   * A VARCHAR column with few distinct values (segment, topic, type): staged as an INTEGER code and turned
   * back into the string when the parquet is written, so no string crosses into DuckDB per row.
   */
  dict?: boolean;
  /** A VARCHAR column of ROS times/durations as JSON text, staged as numbers (see TimeColumn). */
  time?: boolean;
}

const DAY_NS = 86_400_000_000_000n;
/**
 * Row groups of 64 Ki rows rather than DuckDB's 120 Ki: each of DuckDB's threads buffers a row group before
 * encoding it, so smaller ones start encoding sooner and reuse their memory (a tenth less CPU per batch here).
 */
const PARQUET = 'FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536';
/** Partition values that DuckDB's PARTITION_BY writes as they are, without escaping. */
const SAFE_PARTITION = /^[A-Za-z0-9_-]+$/;

/** A full (or last) chunk of rows waiting to be written: its column stores and each row's day. */
interface Chunk {
  stores: ColumnStore[];
  days: Int32Array;
  rows: number;
}

let functionSeq = 0;

/**
 * Collects rows of one lakehouse table and writes them as parquet through DuckDB, into
 * `<staging>/<table>/robot=<id>/date=<yyyy-mm-dd>/part-<uuid>.parquet`. Rows are filled column-wise into
 * typed arrays (`stores`, `row`, `commit`), 2048 at a time (a DuckDB data chunk), and kept as they are
 * until the batch is written: one `COPY (SELECT ... FROM <table function>) TO ... PARTITION_BY (robot,
 * date)` per batch, whose table function hands DuckDB the chunks, copied into its vectors as blocks. No
 * staging table: appending to one cost more than the parquet write. A batch is `batchRows` rows or
 * `batchBytes` of column data, whichever comes first, so files are large (many tiny files make DuckDB
 * slow) and memory stays bounded. `flush({ wait: false })` starts writing a batch and returns once the
 * previous one is written, so the caller fills the next batch while DuckDB compresses this one (each
 * writer has its own connection). `commitStaged()` moves the files into the tables directory; until then
 * nothing is visible to queries.
 */
export class TableWriter {
  readonly table: string;
  readonly columns: TableColumn[];
  #db: DuckDBInstance;
  #conn: DuckDBConnection | undefined;
  #staging: string;
  #robot: string;
  #batchRows: number;
  #batchBytes: number;
  #stores: ColumnStore[];
  #days: Int32Array;
  #dayStart = 0n;
  #dayEnd = 0n;
  #day = 0;
  /** The days (since 1970) of the batch being filled. */
  #batchDays = new Set<number>();
  #dicts: Map<string, number>[];
  #dictValues: string[][];
  #row = 0;
  /** Full chunks of the batch being filled. */
  #chunks: Chunk[] = [];
  #stagedRows = 0;
  #stagedBytes = 0;
  /** Chunks already written, ready to be filled again (their list arrays have grown to size). */
  #free: Chunk[] = [];
  #listHint: number[] = [];
  /** The batch the running COPY reads, and the next chunk it takes. */
  #source: (Chunk | undefined)[] = [];
  #next = 0;
  #function = `auraison_rows_${++functionSeq}`;
  /** Per dict column, the store its codes are narrowed into for the ENUM the running COPY bound (and how). */
  #narrow: ({ store: FixedColumn; remap: Uint32Array | undefined } | undefined)[] = [];
  #writing: Promise<void> | undefined;
  #failure: Error | undefined;
  #files: string[] = [];
  rowsWritten = 0;

  /** Runs before each batch is written: where the caller settles dict values it gave as placeholders. */
  beforeWrite: (() => Promise<void>) | undefined;

  constructor(options: {
    db: DuckDBInstance;
    staging: string;
    table: string;
    robot: string;
    columns: TableColumn[];
    batchRows?: number;
    batchBytes?: number;
  }) {
    const { db, staging, table, robot, columns, batchRows = 200_000, batchBytes = 64 * 1024 * 1024 } = options;
    this.#db = db;
    this.#staging = staging;
    this.table = table;
    this.#robot = robot;
    this.columns = columns;
    this.#batchRows = batchRows;
    this.#batchBytes = batchBytes;
    const chunk = this.#newChunk();
    this.#stores = chunk.stores;
    this.#days = chunk.days;
    this.#dicts = columns.map(() => new Map());
    this.#dictValues = columns.map(() => []);
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

  /** True while a batch is being written: DuckDB then calls back into this thread for its chunks. */
  get writing(): boolean {
    return this.#writing !== undefined;
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

  /** Gives a `dict` column's value `from` (a placeholder) its real value `to` in every row, written or not yet. */
  relabel(column: number, from: string, to: string): void {
    const dict = this.#dicts[column]!;
    const code = dict.get(from);
    if (code === undefined) return;
    dict.delete(from);
    dict.set(to, code);
    this.#dictValues[column]![code] = to;
  }

  /**
   * Ends the row being written, partitioned by the UTC date of `ns`. Returns true when a batch is
   * staged (`batchRows` rows or `batchBytes`): then await `flush()`.
   */
  commit(ns: bigint): boolean {
    if (ns < this.#dayStart || ns >= this.#dayEnd) {
      this.#day = Math.floor(Number(ns / 1_000_000n) / 86_400_000);
      this.#dayStart = BigInt(this.#day) * DAY_NS;
      this.#dayEnd = this.#dayStart + DAY_NS;
      if (ns < 0n) this.#dayEnd = this.#dayStart; // ms truncate towards zero before 1970: no cache there
      this.#batchDays.add(this.#day);
    }
    this.#days[this.#row] = this.#day;
    if (++this.#row >= BATCH_ROWS) this.#seal();
    return this.#stagedRows + this.#row >= this.#batchRows || this.#stagedBytes >= this.#batchBytes;
  }

  /** Adds one row of DuckDB values (dict columns take their strings). */
  async add(date: string, row: DuckDBValue[]): Promise<void> {
    const r = this.#row;
    for (let i = 0; i < row.length; i++) {
      const v = row[i]!;
      setValue(this.#stores[i]!, r, this.columns[i]!.dict && v != null ? this.code(i, String(v)) : v);
    }
    if (this.commit(BigInt(Date.parse(`${date}T00:00:00Z`)) * 1_000_000n)) await this.flush();
  }

  /**
   * Writes the staged rows as one parquet file per date. With `wait: false` it returns once the write
   * has started (and the previous one has finished), so the caller can fill the next batch meanwhile;
   * a failure of that write is thrown by the next `flush`.
   */
  async flush(options: { wait?: boolean } = {}): Promise<void> {
    const { wait = true } = options;
    this.#seal();
    await this.#settle();
    if (this.#stagedRows > 0) {
      await this.beforeWrite?.();
      const batch = this.#chunks;
      const rows = this.#stagedRows;
      const days = [...this.#batchDays];
      this.#batchDays = new Set();
      this.#dayEnd = this.#dayStart; // the next row records its day in the next batch's set
      this.#chunks = [];
      this.#stagedRows = 0;
      this.#stagedBytes = 0;
      this.#writing = this.#copy(batch, rows, days).then(
        () => {
          this.#writing = undefined;
        },
        (error: unknown) => {
          this.#writing = undefined;
          this.#failure = error as Error;
        },
      );
    }
    if (wait) await this.#settle();
  }

  /** Waits for a running write and closes this writer's connection; staged rows not flushed are dropped. */
  async drop(): Promise<void> {
    await this.#writing;
    this.#conn?.closeSync();
    this.#conn = undefined;
  }

  /** Opens this writer's connection and registers its table function (flush does it when needed). */
  async open(): Promise<this> {
    await this.#connection();
    return this;
  }

  async #settle(): Promise<void> {
    await this.#writing;
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) throw failure;
  }

  async #connection(): Promise<DuckDBConnection> {
    if (this.#conn) return this.#conn;
    const conn = await this.#db.connect();
    // Row order inside a file is no guarantee of the lakehouse (queries ORDER BY): without it DuckDB encodes
    // a file's row groups on all its threads, which halves the write of a batch on two cores.
    await conn.run('SET preserve_insertion_order = false');
    const cols = [
      ...this.columns.map((c, i) => `CAST(NULL AS ${c.dict ? 'INTEGER' : c.time ? 'BIGINT' : c.sql}) AS c${i}`),
      'CAST(NULL AS INTEGER) AS "_day"',
    ];
    const types = (await conn.run(`SELECT ${cols.join(', ')} LIMIT 0`)).columnTypes();
    const names = [...this.columns.map((c) => c.name), '_day'];
    conn.registerTableFunction(
      DuckDBTableFunction.create({
        name: this.#function,
        bindFunction: (bind) => {
          // A dict column is an ENUM of its values as they stand when this batch's COPY binds (placeholders
          // relabelled by then): its codes are copied as they are, and the SELECT casts them back to VARCHAR.
          this.#narrow = [];
          for (let i = 0; i < types.length; i++) {
            const values = this.#dictValues[i];
            if (!this.columns[i]?.dict || !values) {
              bind.addResultColumn(names[i]!, types[i]!);
              continue;
            }
            // An ENUM's members are unique; two codes may share a value (two files of a bag with one checksum).
            const unique = [...new Set(values)];
            const remap =
              unique.length < values.length ? Uint32Array.from(values, (v) => unique.indexOf(v)) : undefined;
            const type = ENUM(unique.length > 0 ? unique : ['']);
            bind.addResultColumn(names[i]!, type);
            const d =
              type.internalTypeId === DuckDBTypeId.UTINYINT
                ? new Uint8Array(BATCH_ROWS)
                : type.internalTypeId === DuckDBTypeId.USMALLINT
                  ? new Uint16Array(BATCH_ROWS)
                  : new Uint32Array(BATCH_ROWS);
            this.#narrow[i] = { store: { kind: 'fixed', d, big: false, bool: false, nulls: undefined }, remap };
          }
        },
        initFunction: (init) => init.setMaxThreads(availableParallelism()),
        mainFunction: (info, out) => {
          const chunk = this.#source[this.#next];
          if (!chunk) {
            out.rowCount = 0;
            return;
          }
          try {
            const stores = [...chunk.stores, dayStore(chunk.days)];
            for (let i = 0; i < this.#narrow.length; i++) {
              const narrow = this.#narrow[i];
              if (!narrow) continue;
              const codes = (stores[i] as FixedColumn).d as Int32Array;
              const { store, remap } = narrow;
              const d = store.d as Uint32Array;
              if (remap) for (let r = 0; r < chunk.rows; r++) d[r] = remap[codes[r]!] ?? 0;
              else d.set(codes.subarray(0, chunk.rows));
              store.nulls = (stores[i] as FixedColumn).nulls;
              stores[i] = store;
            }
            fillChunk(out, stores, chunk.rows);
          } catch (error) {
            info.setError(`lakehouse table ${this.table}: cannot hand rows to DuckDB: ${errorText(error)}`);
            return;
          }
          this.#source[this.#next++] = undefined;
          this.#free.push(chunk); // at most a batch: the next one reuses them
        },
      }),
    );
    this.#conn = conn;
    return conn;
  }

  async #copy(batch: Chunk[], rows: number, days: readonly number[]): Promise<void> {
    const conn = await this.#connection();
    const dir = join(this.#staging, this.table);
    const select = this.columns.map((c) => {
      const q = quoteIdent(c.name);
      // sec is the high word (arithmetic shift keeps its sign), nanosec the low word, unsigned.
      if (c.time) return `'{"sec":' || (${q} >> 32) || ',"nanosec":' || (${q} & 4294967295) || '}' AS ${q}`;
      if (!c.dict) return q;
      return `CAST(${q} AS VARCHAR) AS ${q}`;
    });
    this.#source = batch;
    this.#next = 0;
    try {
      const date = days.length === 1 ? new Date(days[0]! * 86_400_000).toISOString().slice(0, 10) : '';
      if (days.length === 1 && SAFE_PARTITION.test(this.#robot) && SAFE_PARTITION.test(date)) {
        // One date (the usual batch): the file goes straight where PARTITION_BY would put it, without
        // DuckDB's partitioning pass (a quarter of the write's time). Names needing escapes take the general path.
        const rel = join(`robot=${this.#robot}`, `date=${date}`, `part-${randomUUID()}.parquet`);
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        await conn.run(
          `COPY (SELECT ${select.join(', ')} FROM ${this.#function}()) TO ${quoteString(join(dir, rel))} (${PARQUET})`,
        );
        this.#files.push(join(this.table, rel));
      } else {
        mkdirSync(dir, { recursive: true });
        const before = new Set(listParquet(dir));
        await conn.run(
          `COPY (SELECT ${select.join(', ')}, ${quoteString(this.#robot)} AS robot, strftime(DATE '1970-01-01' + "_day", '%Y-%m-%d') AS date FROM ${this.#function}()) TO ${quoteString(dir)} (${PARQUET}, PARTITION_BY (robot, date), FILENAME_PATTERN 'part-{uuid}', OVERWRITE_OR_IGNORE true)`,
        );
        for (const f of listParquet(dir)) if (!before.has(f)) this.#files.push(join(this.table, f));
      }
    } finally {
      this.#source = [];
    }
    this.rowsWritten += rows;
  }

  #newChunk(): Chunk {
    const reused = this.#free.pop();
    if (reused) {
      resetStores(reused.stores);
      reused.rows = 0;
      return reused;
    }
    const stores = this.columns.map((c) => columnStore(c.dict ? 'INTEGER' : c.sql, c.time));
    // List elements: as many as the last chunk held, so a new chunk doesn't grow its arrays row by row.
    for (let i = 0; i < stores.length; i++) {
      const c = stores[i]!;
      const hint = this.#listHint[i] ?? 0;
      if (c.kind === 'list' && hint > c.child.length) c.child = new c.ctor(hint);
    }
    return { stores, days: new Int32Array(BATCH_ROWS), rows: 0 };
  }

  /** Puts the current chunk's rows into the batch and starts a new chunk. */
  #seal(): void {
    const rows = this.#row;
    if (rows === 0) return;
    this.#chunks.push({ stores: this.#stores, days: this.#days, rows });
    for (let i = 0; i < this.#stores.length; i++) {
      const c = this.#stores[i]!;
      if (c.kind === 'list') this.#listHint[i] = Math.max(this.#listHint[i] ?? 0, c.n);
    }
    this.#stagedRows += rows;
    this.#stagedBytes += chunkBytes(this.#stores, rows);
    const next = this.#newChunk();
    this.#stores = next.stores;
    this.#days = next.days;
    this.#row = 0;
  }
}
