import { DuckDBListVector, type DuckDBDataChunk, type DuckDBVector } from '@duckdb/node-api';
import { DatasetFolder } from './dataset-folder.ts';
import { MAX_FRAME_VALUES } from './dataset-limits.ts';
import { forEachParquetBatch } from './dataset-parquet.ts';
import { DatasetError } from './dataset-types.ts';
import { sqlIdent } from './duckdb.ts';

/**
 * One feature's values of the frames read, packed: frame i's are a view of them (a ragged row keeps its own length,
 * for the policy to say it is not its input's size).
 */
export class FrameColumn {
  #values: Float32Array;
  #offsets: Float64Array;

  constructor(values: Float32Array, offsets: Float64Array) {
    this.#values = values;
    this.#offsets = offsets;
  }

  /** Frames in the column. */
  get length(): number {
    return this.#offsets.length - 1;
  }

  /** Frame i's values: a view, changed by transform(). */
  at(i: number): Float32Array {
    return this.#values.subarray(this.#offsets[i], this.#offsets[i + 1]);
  }

  /** Changes every value in place (a source's scale, offset and clip). */
  transform(fn: (x: number) => number): void {
    const values = this.#values;
    for (let i = 0; i < values.length; i++) values[i] = fn(values[i]!);
  }
}

/** Frames of some episodes: the requested features, ordered by episode and frame. */
export interface FrameColumns {
  episodeIndex: Float64Array;
  frameIndex: Float64Array;
  columns: Record<string, FrameColumn>;
}

export interface FrameRead {
  /** The episodes to read; all that the data holds when undefined. */
  episodes?: readonly number[];
  /**
   * How many frames they hold, as counted before (DataFigures): no more are read, and a different count is an error (a
   * file changed between the count and the read).
   */
  frames: number;
  /** The values a frame of each feature is declared to hold (its shape): room is made for them at once. */
  valuesPerFrame?: Readonly<Record<string, number>>;
}

/**
 * Reads numeric features of the frames of some episodes, ordered by episode and frame, a chunk of rows at a time into
 * packed float32 columns, with no object per row or value: at most `frames` frames and MAX_FRAME_VALUES values,
 * whatever the files hold. A NULL value is an error naming its episode and frame (fed as 0 it would be a value the
 * robot never had).
 */
export async function readFrames(root: string, features: string[], read: FrameRead): Promise<FrameColumns> {
  const { episodes, frames, valuesPerFrame = {} } = read;
  const folder = new DatasetFolder(root);
  const files = folder.list('data', '.parquet');
  if (files.length === 0) throw new DatasetError(`${root} has no data parquet files under data/`);
  const out = new FramesBuilder(
    root,
    features.map((name) => ({ name, size: valuesPerFrame[name] ?? 1 })),
    frames,
  );
  await forEachParquetBatch(folder, files, async (parquet) => {
    const types = new Map(
      (await parquet.rows(`DESCRIBE SELECT * FROM ${parquet.from}`)).map((r) => [
        String(r.column_name),
        String(r.column_type),
      ]),
    );
    for (const f of ['episode_index', 'frame_index', ...features]) {
      if (!types.has(f))
        throw new DatasetError(`${root} has no column "${f}" in its data (columns: ${[...types.keys()].join(', ')})`);
    }
    // As doubles, so every value comes as a number (float32 after, as before): a list as DOUBLE[], one value as DOUBLE;
    // each with whether it is NULL, told apart from an empty list without a value made for the row.
    const values = features.map((f) => {
      const c = sqlIdent(f);
      return `CAST(${c} AS ${/\[\d*\]$/.test(types.get(f)!) ? 'DOUBLE[]' : 'DOUBLE'}), ${c} IS NULL`;
    });
    const only = episodes ? ` AND episode_index IN (${episodes.map((e) => Math.trunc(e)).join(', ') || 'NULL'})` : '';
    // Sorted as stored, cast after: the sort holds every row, and a double is twice a float.
    const sorted =
      `SELECT * FROM ${parquet.from} WHERE episode_index IS NOT NULL${only} ` +
      `ORDER BY episode_index, frame_index LIMIT ${frames - out.length + 1}`;
    const sql = `SELECT CAST(episode_index AS DOUBLE), CAST(frame_index AS DOUBLE), ${values.join(', ')} FROM (${sorted})`;
    for await (const chunk of parquet.chunks(sql)) out.add(chunk);
  });
  return out.result();
}

/** The values a feature's column is first made for, at most: grown as its rows need. */
const FIRST_ROOM = 32 * 1024 * 1024;

/** The columns of readFrames, filled a chunk at a time. */
class FramesBuilder {
  #root: string;
  #features: { name: string; size: number }[];
  #expected: number;
  #episodes: Float64Array;
  #frames: Float64Array;
  #values: Float32Array[];
  #offsets: Float64Array[];
  #used = 0;
  #n = 0;
  #sorted = true;

  constructor(root: string, features: { name: string; size: number }[], expected: number) {
    this.#root = root;
    this.#features = features;
    this.#expected = expected;
    this.#episodes = new Float64Array(expected);
    this.#frames = new Float64Array(expected);
    // Room for what is declared, up to a first 128 MB a feature: a declared shape is the dataset's word, not a fact.
    this.#values = features.map((f) => new Float32Array(Math.min(expected * f.size, FIRST_ROOM)));
    this.#offsets = features.map(() => new Float64Array(expected + 1));
  }

  get length(): number {
    return this.#n;
  }

  add(chunk: DuckDBDataChunk): void {
    const rows = chunk.rowCount;
    if (this.#n + rows > this.#expected)
      throw new DatasetError(
        `${this.#root}: the data holds more frames than were counted (${this.#expected}) before they were read: a data file changed meanwhile; replay again`,
      );
    const episodes = chunk.getColumnVector(0);
    const frames = chunk.getColumnVector(1);
    for (let r = 0; r < rows; r++) {
      const i = this.#n + r;
      this.#episodes[i] = episodes.getItem(r) as number;
      this.#frames[i] = (frames.getItem(r) as number | null) ?? 0;
      if (i > 0 && order(this.#episodes, this.#frames, i - 1, i) > 0) this.#sorted = false;
    }
    this.#features.forEach((_, j) =>
      this.#addColumn(j, chunk.getColumnVector(2 + 2 * j), chunk.getColumnVector(3 + 2 * j), rows),
    );
    this.#n += rows;
  }

  /** Feature j's values of the chunk's rows: a list column's from its flat child vector, a scalar's as they are. */
  #addColumn(j: number, vector: DuckDBVector, nulls: DuckDBVector, rows: number): void {
    const list = vector instanceof DuckDBListVector ? vector : undefined;
    const items = list ? list.childVector : vector;
    const offsets = this.#offsets[j]!;
    for (let r = 0; r < rows; r++) {
      const i = this.#n + r;
      const [from, length] = list ? [list.getEntryOffset(r), list.getEntryLength(r)] : [r, 1];
      const missing = nulls.getItem(r) === true;
      if ((this.#used += length) > MAX_FRAME_VALUES)
        throw new DatasetError(
          `${this.#root}: the frames read hold more than ${MAX_FRAME_VALUES} values (1 GiB as float32), the most a replay reads: replay fewer episodes (--episodes)`,
        );
      const start = offsets[i]!;
      const values = this.#room(j, start + length);
      for (let k = 0; k < length && !missing; k++) {
        const v = items.getItem(from + k) as number | null;
        // Number(null) is 0: a NULL value would be fed to the policy as a zero.
        if (v === null) throw this.#null(j, i, true);
        values[start + k] = v;
      }
      if (missing) throw this.#null(j, i, false);
      offsets[i + 1] = start + length;
    }
  }

  #null(j: number, i: number, inPlaces: boolean): DatasetError {
    return new DatasetError(
      `${this.#root}: episode ${this.#episodes[i]} frame ${this.#frames[i]}: ${this.#features[j]!.name} is NULL${inPlaces ? ' in places' : ''}`,
    );
  }

  /** Feature j's values, with room for `needed`. */
  #room(j: number, needed: number): Float32Array {
    const column = this.#values[j]!;
    if (needed <= column.length) return column;
    const grown = new Float32Array(Math.min(Math.max(needed, column.length * 2), MAX_FRAME_VALUES));
    grown.set(column);
    return (this.#values[j] = grown);
  }

  result(): FrameColumns {
    const n = this.#n;
    if (n !== this.#expected)
      throw new DatasetError(
        `${this.#root}: the data holds ${n} of the ${this.#expected} frames counted before they were read: a data file changed meanwhile; replay again`,
      );
    const sorted = this.#sorted ? undefined : sortedOrder(this.#episodes, this.#frames);
    const pick = (a: Float64Array): Float64Array => (sorted ? a.map((_, k) => a[sorted[k]!]!) : a);
    const columns: Record<string, FrameColumn> = {};
    this.#features.forEach(({ name }, j) => {
      const values = this.#values[j]!.subarray(0, this.#offsets[j]![n]);
      const offsets = this.#offsets[j]!;
      columns[name] = sorted ? reordered(values, offsets, sorted) : new FrameColumn(values, offsets);
    });
    return { episodeIndex: pick(this.#episodes), frameIndex: pick(this.#frames), columns };
  }
}

/** How frames a and b are ordered: by episode, then frame. */
const order = (episodes: Float64Array, frames: Float64Array, a: number, b: number): number =>
  episodes[a]! - episodes[b]! || frames[a]! - frames[b]!;

/** The order of frames by episode, then frame: batches of files come each in order, not all. */
function sortedOrder(episodes: Float64Array, frames: Float64Array): Uint32Array {
  return Uint32Array.from(episodes.keys()).sort((a, b) => order(episodes, frames, a, b));
}

function reordered(values: Float32Array, offsets: Float64Array, sorted: Uint32Array): FrameColumn {
  const packed = new Float32Array(values.length);
  const starts = new Float64Array(offsets.length);
  sorted.forEach((k, i) => {
    const row = values.subarray(offsets[k], offsets[k + 1]);
    packed.set(row, starts[i]);
    starts[i + 1] = starts[i]! + row.length;
  });
  return new FrameColumn(packed, starts);
}
