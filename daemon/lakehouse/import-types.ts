import type { DefinitionsRegistry } from '../bus/index.ts';

/* The options, inputs and report of a bag import (importer.ts, bag-import.ts), and the tables it writes. */

export interface ImportOptions {
  /** A bag directory or a bare .mcap/.db3 file. */
  path: string;
  dataDir: string;
  robot: string;
  registry: DefinitionsRegistry;
  source?: 'import' | 'recorder';
  /** Only these storage files of the bag (the recorder indexes one split at a time). */
  only?: readonly string[];
  /** Which topics are decoded into typed columns. */
  project?: (topic: string) => boolean;
  projectMaxBytes?: number;
  batchRows?: number;
  /** How long to wait for a catalog another process holds (default withCatalog's 10 s). */
  catalogWaitMs?: number;
  /**
   * Ends the import early, between two batches of messages, with nothing committed (the daemon's stop: a
   * large split takes longer to index than the stop may last). It throws the signal's reason.
   */
  signal?: AbortSignal;
}

/** Messages of a topic whose type has no definition: kept as raw bytes. */
export interface UnknownType {
  file: string;
  topic: string;
  type: string;
  reason: string;
  count: number;
}

/** Messages of a topic that do not decode as their (known) type: corrupt data, kept as raw bytes. */
export interface CorruptMessages {
  file: string;
  topic: string;
  type: string;
  /** Why the first of them did not decode. */
  reason: string;
  count: number;
}

export interface ImportReport {
  bag: string;
  storage: string;
  /** For a file already imported, `raw` is how many of its messages were kept raw when it was. */
  segments: {
    file: string;
    segmentId: string;
    messages: number;
    state: 'imported' | 'already imported';
    raw?: number;
  }[];
  messages: number;
  decoded: number;
  /** Messages kept as raw bytes (table raw_messages): their type has no definition, or they did not decode. */
  raw: number;
  unknownTypes: UnknownType[];
  corrupt: CorruptMessages[];
  warnings: string[];
  tables: string[];
  /**
   * Topics with messages over `projectMaxBytes` (images, point clouds, a large map): indexed in `messages`
   * but not decoded into the topic's table. `largest` in bytes.
   */
  oversized: { topic: string; count: number; largest: number }[];
}

/** What the catalog already holds: segments (with their raw counts), their sizes, and projection tables. */
export interface KnownToCatalog {
  segments: Map<string, number>;
  sizes: Set<number>;
  projections: { topic: string; type: string; table: string }[];
}

/** The columns of the `messages` table, a row per message; `raw_messages` keeps the first six and the bytes. */
export const MESSAGE_COLUMNS = [
  { name: 'segment_id', sql: 'VARCHAR', dict: true },
  { name: 'bag', sql: 'VARCHAR', dict: true },
  { name: 'topic', sql: 'VARCHAR', dict: true },
  { name: 'type', sql: 'VARCHAR', dict: true },
  { name: 'log_time', sql: 'BIGINT' },
  { name: 'publish_time', sql: 'BIGINT' },
  { name: 'offset', sql: 'BIGINT' },
  { name: 'size', sql: 'INTEGER' },
  { name: 'decoded', sql: 'BOOLEAN' },
];
export const RAW_COLUMNS = [...MESSAGE_COLUMNS.slice(0, 6), { name: 'data', sql: 'BLOB' }];

/** Counts a message kept raw under its topic (unknown type, or corrupt), keeping the first reason. */
export function countIn(
  counts: Map<string, UnknownType>,
  file: string,
  topic: string,
  type: string,
  reason: string,
): void {
  const c = counts.get(topic) ?? { file, topic, type, reason, count: 0 };
  c.count++;
  counts.set(topic, c);
}
