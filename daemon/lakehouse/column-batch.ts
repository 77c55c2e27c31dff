import duckdb from '@duckdb/node-bindings';
import { DuckDBBlobValue, DuckDBListValue, type DuckDBDataChunk, type DuckDBValue } from '@duckdb/node-api';

/** Rows per batch: DuckDB's vector size, so one batch is one data chunk. */
export const BATCH_ROWS = 2048;

type NumericArray =
  Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
type BigArray = BigInt64Array | BigUint64Array;
type FixedArray = NumericArray | BigArray;
type FixedCtor = { new (n: number): FixedArray; readonly BYTES_PER_ELEMENT: number };

const FIXED: Record<string, FixedCtor> = {
  DOUBLE: Float64Array,
  FLOAT: Float32Array,
  TINYINT: Int8Array,
  UTINYINT: Uint8Array,
  SMALLINT: Int16Array,
  USMALLINT: Uint16Array,
  INTEGER: Int32Array,
  UINTEGER: Uint32Array,
  BIGINT: BigInt64Array,
  UBIGINT: BigUint64Array,
  BOOLEAN: Uint8Array,
};

/** A column of fixed-width values (numbers, bigints, booleans as 0/1), copied into DuckDB with one memcpy. */
export interface FixedColumn {
  kind: 'fixed';
  d: FixedArray;
  big: boolean;
  bool: boolean;
  nulls: Uint8Array | undefined;
}

/**
 * A list of fixed-width values: each row's length and where its elements start in `child`. Rows mostly
 * take their own elements, one after another; a row whose list is the same as an earlier row's (a constant
 * covariance, say) may point at that row's elements instead (`shareOff`, `shareLen`: the last elements
 * taken, -1 when none may be shared), as DuckDB list vectors allow.
 */
export interface ListColumn {
  kind: 'list';
  lens: Uint32Array;
  offs: Uint32Array;
  child: FixedArray;
  /** Elements used in `child`. */
  n: number;
  shareOff: number;
  shareLen: number;
  ctor: FixedCtor;
  big: boolean;
  bool: boolean;
  nulls: Uint8Array | undefined;
}

/** Strings (VARCHAR) or bytes (BLOB), one N-API call per row. */
export interface BytesColumn {
  kind: 'str' | 'blob';
  d: (string | Uint8Array | null)[];
}

/** Anything else (lists of strings, JSON as VARCHAR lists...): DuckDB values, written by @duckdb/node-api. */
export interface ValueColumn {
  kind: 'value';
  d: DuckDBValue[];
}

/**
 * A ROS time or duration, shown as its JSON text `{"sec":S,"nanosec":N}` (a VARCHAR column): staged as one
 * int64 per row, sec in the high word and nanosec in the low word (`d[2 * row + 1]`, `d[2 * row]`), and
 * turned into the text by the parquet write's SELECT, so no string is built or handed over per row.
 */
export interface TimeColumn {
  kind: 'time';
  d: Int32Array;
  nulls: Uint8Array | undefined;
}

export type ColumnStore = FixedColumn | ListColumn | BytesColumn | ValueColumn | TimeColumn;

/** The column store for a DuckDB SQL type (`time`: a VARCHAR of ROS times, staged as a TimeColumn). */
export function columnStore(sql: string, time = false): ColumnStore {
  if (time) return { kind: 'time', d: new Int32Array(2 * BATCH_ROWS), nulls: undefined };
  const fixed = FIXED[sql];
  if (fixed)
    return {
      kind: 'fixed',
      d: new fixed(BATCH_ROWS),
      big: sql.endsWith('BIGINT'),
      bool: sql === 'BOOLEAN',
      nulls: undefined,
    };
  const list = /^(\w+)\[\]$/.exec(sql);
  const inner = list ? FIXED[list[1]!] : undefined;
  if (list && inner) {
    return {
      kind: 'list',
      lens: new Uint32Array(BATCH_ROWS),
      offs: new Uint32Array(BATCH_ROWS),
      child: new inner(BATCH_ROWS * 4),
      n: 0,
      shareOff: 0,
      shareLen: -1,
      ctor: inner,
      big: list[1]!.endsWith('BIGINT'),
      bool: list[1] === 'BOOLEAN',
      nulls: undefined,
    };
  }
  if (sql === 'VARCHAR') return { kind: 'str', d: new Array<string | null>(BATCH_ROWS).fill(null) };
  if (sql === 'BLOB') return { kind: 'blob', d: new Array<Uint8Array | null>(BATCH_ROWS).fill(null) };
  return { kind: 'value', d: new Array<DuckDBValue>(BATCH_ROWS).fill(null) };
}

/** Makes room for `more` elements after `c.n` in a list column's child array. */
export function reserveList(c: ListColumn, more: number): FixedArray {
  const need = c.n + more;
  if (need > c.child.length) {
    const grown = new c.ctor(Math.max(need, c.child.length * 2));
    (grown as Uint8Array).set(c.child as Uint8Array);
    c.child = grown;
  }
  return c.child;
}

function setNull(nulls: Uint8Array | undefined, row: number, isNull: boolean): Uint8Array | undefined {
  if (!isNull) {
    if (nulls) nulls[row] = 0;
    return nulls;
  }
  const n = nulls ?? new Uint8Array(BATCH_ROWS);
  n[row] = 1;
  return n;
}

/** Stores a DuckDB value (as @duckdb/node-api would take it) at `row`: the path for rows not decoded column-wise. */
export function setValue(c: ColumnStore, row: number, value: DuckDBValue): void {
  switch (c.kind) {
    case 'fixed':
      c.nulls = setNull(c.nulls, row, value == null);
      if (value != null)
        (c.d as unknown as unknown[])[row] = c.bool ? (value ? 1 : 0) : c.big ? BigInt(value as bigint) : Number(value);
      break;
    case 'list': {
      c.nulls = setNull(c.nulls, row, value == null);
      const items = value instanceof DuckDBListValue ? value.items : [];
      const child = reserveList(c, items.length) as unknown as unknown[];
      c.offs[row] = c.n;
      for (let i = 0; i < items.length; i++) {
        const v = items[i];
        child[c.n + i] = c.bool ? (v ? 1 : 0) : c.big ? BigInt(v as bigint) : Number(v);
      }
      c.n += items.length;
      c.lens[row] = items.length;
      break;
    }
    case 'str':
      c.d[row] = value == null ? null : String(value);
      break;
    case 'blob':
      c.d[row] = value instanceof DuckDBBlobValue ? value.bytes : null;
      break;
    case 'time': {
      c.nulls = setNull(c.nulls, row, value == null);
      if (value == null) break;
      const m = TIME_TEXT.exec(String(value));
      if (!m) throw new Error(`a time value ${String(value)} is not {"sec":S,"nanosec":N}`);
      c.d[2 * row] = Number(m[2]);
      c.d[2 * row + 1] = Number(m[1]);
      break;
    }
    default:
      c.d[row] = value;
  }
}

/** The JSON text MessageReader's time values flatten to: sec an int32, nanosec a uint32. */
const TIME_TEXT = /^\{"sec":(-?\d{1,10}),"nanosec":(\d{1,10})\}$/;

/** Empties list columns' element counts after a chunk is written or a row is abandoned. */
export function resetStores(stores: readonly ColumnStore[]): void {
  for (const c of stores) {
    if (c.kind === 'list') {
      c.n = 0;
      c.shareLen = -1;
      c.nulls = undefined;
    } else if (c.kind === 'fixed' || c.kind === 'time') c.nulls = undefined;
  }
}

/** Where a row's variable-length state stands, so a row that fails half-way can be taken back. */
export function listMarks(stores: readonly ColumnStore[]): number[] {
  return stores.map((c) => (c.kind === 'list' ? c.n : 0));
}

export function rollbackLists(stores: readonly ColumnStore[], marks: readonly number[]): void {
  for (let i = 0; i < stores.length; i++) {
    const c = stores[i]!;
    if (c.kind === 'list') {
      c.n = marks[i]!;
      c.shareLen = -1; // the elements it pointed at may be gone
    }
  }
}

function copyValidity(vector: duckdb.Vector, nulls: Uint8Array, rows: number): void {
  const words = new BigUint64Array(Math.ceil(rows / 64));
  words.fill(0xffffffffffffffffn);
  const bytes = new Uint8Array(words.buffer);
  for (let r = 0; r < rows; r++) if (nulls[r]) bytes[r >> 3]! &= ~(1 << (r & 7));
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, words.buffer, 0, words.byteLength);
}

/** True when rows 0..rows-1 hold the same string, which has no NUL (create_varchar takes a C string). */
function constantString(d: readonly (string | Uint8Array | null)[], rows: number): boolean {
  const first = d[0];
  if (typeof first !== 'string' || rows < 2) return false;
  for (let r = 1; r < rows; r++) {
    const v = d[r];
    if (v !== first) return false;
  }
  return !first.includes('\0');
}

/**
 * Copies the first `rows` rows of the stores into a data chunk whose column types match them: fixed-width
 * columns and list elements as whole blocks of memory (the costly part of row-wise conversion), strings and
 * blobs one call per row, other values through @duckdb/node-api.
 */
export function fillChunk(chunk: DuckDBDataChunk, stores: readonly ColumnStore[], rows: number): void {
  chunk.rowCount = rows;
  for (let i = 0; i < stores.length; i++) {
    const c = stores[i]!;
    if (c.kind === 'value') {
      chunk.setColumnValues(i, c.d.slice(0, rows));
      continue;
    }
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, i);
    if (c.kind === 'fixed' || c.kind === 'time') {
      const width = c.kind === 'time' ? 8 : c.d.BYTES_PER_ELEMENT;
      duckdb.copy_data_to_vector(vector, 0, c.d.buffer as ArrayBuffer, c.d.byteOffset, rows * width);
      if (c.nulls) copyValidity(vector, c.nulls, rows);
    } else if (c.kind === 'list') {
      // List entries are (offset, length) pairs of uint64: written as 32-bit halves, no BigInt per row
      // (a chunk's element offsets stay far below 2^32; DuckDB and this code are little-endian only).
      const entries = new Uint32Array(rows * 4);
      for (let r = 0; r < rows; r++) {
        entries[4 * r] = c.offs[r]!;
        entries[4 * r + 2] = c.nulls?.[r] ? 0 : c.lens[r]!;
      }
      const size = c.n;
      duckdb.list_vector_reserve(vector, size);
      duckdb.list_vector_set_size(vector, size);
      if (size > 0)
        duckdb.copy_data_to_vector(
          duckdb.list_vector_get_child(vector),
          0,
          c.child.buffer as ArrayBuffer,
          c.child.byteOffset,
          size * c.child.BYTES_PER_ELEMENT,
        );
      duckdb.copy_data_to_vector(vector, 0, entries.buffer as ArrayBuffer, 0, entries.byteLength);
      if (c.nulls) copyValidity(vector, c.nulls, rows);
    } else if (c.kind === 'str' && constantString(c.d, rows)) {
      // One value in every row (a frame id, mostly): a constant vector, one N-API call instead of one per row.
      duckdb.vector_reference_value(vector, duckdb.create_varchar(c.d[0] as string));
    } else {
      let nulls: Uint8Array | undefined;
      for (let r = 0; r < rows; r++) {
        const v = c.d[r];
        if (v == null) (nulls ??= new Uint8Array(rows))[r] = 1;
        else if (typeof v === 'string') duckdb.vector_assign_string_element(vector, r, v);
        else duckdb.vector_assign_string_element_len(vector, r, v);
      }
      if (nulls) copyValidity(vector, nulls, rows);
    }
  }
}

/** A store over a chunk's per-row days (the partition each row goes to). */
export function dayStore(days: Int32Array): ColumnStore {
  return { kind: 'fixed', d: days, big: false, bool: false, nulls: undefined };
}

/** About how much memory a chunk's rows hold: what `batchBytes` counts. */
export function chunkBytes(stores: readonly ColumnStore[], rows: number): number {
  let bytes = rows * 4;
  for (const c of stores) {
    if (c.kind === 'fixed') bytes += rows * c.d.BYTES_PER_ELEMENT;
    else if (c.kind === 'time') bytes += rows * 8;
    else if (c.kind === 'list') bytes += rows * 8 + c.n * c.child.BYTES_PER_ELEMENT;
    else if (c.kind === 'str' || c.kind === 'blob') for (let r = 0; r < rows; r++) bytes += 16 + (c.d[r]?.length ?? 0);
    else bytes += rows * 16;
  }
  return bytes;
}
