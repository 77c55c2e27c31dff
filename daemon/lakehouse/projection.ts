import { createHash } from 'node:crypto';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { MessageDefinition } from '@foxglove/message-definition';
import type { MessageReader } from '@foxglove/rosmsg2-serialization';
import { setValue, type FixedColumn, type ListColumn } from './column-batch.ts';
import { compileColumnarDecoder, type ColumnarDecode } from './columnar-decoder.ts';
import { flattenColumns, type FlatColumn } from './flatten.ts';
import { TableWriter } from './table-writer.ts';

/** The columns every projection table starts with; a message's own fields follow. */
export const PROJECTION_PREFIX = [
  { name: 'log_time', sql: 'BIGINT' },
  { name: 'publish_time', sql: 'BIGINT' },
  { name: 'segment_id', sql: 'VARCHAR', dict: true },
];

/** A projected topic: its table, its flattened columns, and the generated decoder when the type has one. */
export interface Projection {
  writer: TableWriter;
  columns: FlatColumn[];
  fast: ColumnarDecode | undefined;
  /** Indexes of list columns, whose element counts a failed row must give back. */
  lists: number[];
  marks: number[];
}

/** The directory name of a topic's projection table: `/odom` -> `topic_odom`. */
export function projectionTable(topic: string, type: string, taken: ReadonlyMap<string, string>): string {
  const base = `topic_${topic.replace(/^\/+/, '').replace(/[^A-Za-z0-9_]+/g, '_') || 'root'}`;
  const owner = taken.get(base);
  if (owner === undefined || owner === `${topic}\0${type}`) return base;
  return `${base}_${createHash('sha1').update(`${topic}\0${type}`).digest('hex').slice(0, 8)}`;
}

/**
 * Opens a staged writer on a projection table of a type (its fully resolved `definitions`): the columns its
 * fields flatten to, after PROJECTION_PREFIX, and the type's generated decoder where it has one.
 */
export async function openProjection(
  definitions: readonly MessageDefinition[],
  table: { db: DuckDBInstance; staging: string; table: string; robot: string; batchRows: number },
): Promise<Projection> {
  const columns = dedupe(flattenColumns(definitions));
  const writer = await new TableWriter({ ...table, columns: [...PROJECTION_PREFIX, ...columns] }).open();
  const lists = writer.stores.flatMap((c, i) => (c.kind === 'list' ? [i] : []));
  return { writer, columns, fast: decoderFor(definitions), lists, marks: lists.map(() => 0) };
}

const decoders = new WeakMap<readonly MessageDefinition[], ColumnarDecode | null>();

/** The generated decoder of a type (cached per resolved definitions), or undefined where it has none. */
function decoderFor(definitions: readonly MessageDefinition[]): ColumnarDecode | undefined {
  let fast = decoders.get(definitions);
  if (fast === undefined) {
    fast = compileColumnarDecoder(definitions, PROJECTION_PREFIX.length) ?? null;
    decoders.set(definitions, fast);
  }
  return fast ?? undefined;
}

/**
 * Writes one message into the projection's current row: with the generated decoder when there is one,
 * else (or when it gives up on this message) with MessageReader and the flattened columns' getters.
 * Returns the error when the message does not decode; then the row is left unwritten.
 */
export function projectRow(
  proj: Projection,
  reader: MessageReader,
  data: Uint8Array,
  logTime: bigint,
  publishTime: bigint,
  segment: number,
): Error | undefined {
  const stores = proj.writer.stores;
  const row = proj.writer.row;
  const prefix = stores as FixedColumn[];
  prefix[0]!.d[row] = logTime;
  prefix[1]!.d[row] = publishTime;
  prefix[2]!.d[row] = segment;
  for (let i = 0; i < proj.lists.length; i++) proj.marks[i] = (stores[proj.lists[i]!] as ListColumn).n;
  if (proj.fast) {
    try {
      proj.fast(data, row, stores);
      return undefined;
    } catch {
      rollback(proj); // MessageReader has the last word on a message the generated decoder can't read
    }
  }
  try {
    const value = reader.readMessage(data);
    const values = proj.columns.map((c) => c.get(value));
    for (let i = 0; i < values.length; i++) setValue(stores[PROJECTION_PREFIX.length + i]!, row, values[i]!);
    return undefined;
  } catch (error) {
    rollback(proj);
    return error as Error;
  }
}

/** Gives back the list elements a half-written row took. */
function rollback(proj: Projection): void {
  const stores = proj.writer.stores;
  for (let i = 0; i < proj.lists.length; i++) {
    const c = stores[proj.lists[i]!] as ListColumn;
    c.n = proj.marks[i]!;
    c.shareLen = -1; // the elements it pointed at may be gone
  }
}

const RESERVED = new Set(PROJECTION_PREFIX.map((c) => c.name));

/** Message fields named like our own columns are prefixed with `msg.`. */
function dedupe(columns: FlatColumn[]): FlatColumn[] {
  return columns.map((c) => (RESERVED.has(c.name) ? { ...c, name: `msg.${c.name}` } : c));
}
