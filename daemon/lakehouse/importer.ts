import { createHash } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { blobValue, DuckDBInstance } from '@duckdb/node-api';
import type { MessageDefinition } from '@foxglove/message-definition';
import type { MessageReader } from '@foxglove/rosmsg2-serialization';
import type { DefinitionsRegistry } from '../bus/definitions.ts';
import { BagError } from '../bags/errors.ts';
import { BagTypeResolver } from '../bags/message-types.ts';
import { locateBag, openStorageFile, prepareStorage } from '../bags/open-bag.ts';
import type { StorageTopic } from '../bags/storage-reader.ts';
import { newId } from '../contract/ids.ts';
import { lakehousePaths, NEXT_SEQ, withCatalog } from './catalog.ts';
import { setValue, type FixedColumn, type ListColumn } from './column-batch.ts';
import { compileColumnarDecoder, type ColumnarDecode } from './columnar-decoder.ts';
import { sha256File } from './file-hash.ts';
import { flattenColumns, type FlatColumn } from './flatten.ts';
import { newStagingDir, sweepStaging } from './housekeeping.ts';
import { commitStaged, partitionDate, quoteString, TableWriter } from './table-writer.ts';

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
  segments: { file: string; segmentId: string; messages: number; state: 'imported' | 'already imported'; raw?: number }[];
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

const MESSAGE_COLUMNS = [
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
const RAW_COLUMNS = [...MESSAGE_COLUMNS.slice(0, 6), { name: 'data', sql: 'BLOB' }];
const PROJECTION_PREFIX = [
  { name: 'log_time', sql: 'BIGINT' },
  { name: 'publish_time', sql: 'BIGINT' },
  { name: 'segment_id', sql: 'VARCHAR', dict: true },
];

/** A projected topic: its table, its flattened columns, and the generated decoder when the type has one. */
interface Projection {
  writer: TableWriter;
  columns: FlatColumn[];
  fast: ColumnarDecode | undefined;
  /** Indexes of list columns, whose element counts a failed row must give back. */
  lists: number[];
  marks: number[];
}

/** What the import loop keeps per topic of a file. */
interface TopicInfo {
  topic: StorageTopic;
  decoder: MessageReader | undefined;
  reason: string | undefined;
  project: boolean;
  /** undefined until the first message is projected; null when the type has no projection. */
  proj: Projection | null | undefined;
  projSegment: number;
  topicCode: number;
  typeCode: number;
}

/** The directory name of a topic's projection table: `/odom` -> `topic_odom`. */
export function projectionTable(topic: string, type: string, taken: ReadonlyMap<string, string>): string {
  const base = `topic_${topic.replace(/^\/+/, '').replace(/[^A-Za-z0-9_]+/g, '_') || 'root'}`;
  const owner = taken.get(base);
  if (owner === undefined || owner === `${topic}\0${type}`) return base;
  return `${base}_${createHash('sha1').update(`${topic}\0${type}`).digest('hex').slice(0, 8)}`;
}

/**
 * Imports a rosbag2 bag into the lakehouse: each storage file becomes a segment (a row of `bags`), each
 * message a row of `messages`, each message of a projected topic a row of that topic's table, decoded into
 * typed columns; messages of unknown types, and messages that do not decode as their type (corrupt), are
 * kept as raw bytes in `raw_messages` and reported, each kind on its own. Parquet is
 * staged first and committed only when every file has been read, so a bad file leaves nothing behind.
 * Segments already imported (same checksum) are skipped.
 */
export async function importBag(options: ImportOptions): Promise<ImportReport> {
  const { dataDir, robot, registry, source = 'import', only, project = () => true, projectMaxBytes = 65536, batchRows = 200_000, catalogWaitMs: timeoutMs } = options;
  const bag = locateBag(options.path);
  const paths = lakehousePaths(dataDir);
  const report: ImportReport = { bag: bag.path, storage: bag.storage, segments: [], messages: 0, decoded: 0, raw: 0, unknownTypes: [], corrupt: [], warnings: [...bag.warnings], tables: [], oversized: [] };
  const oversized = new Map<string, { topic: string; count: number; largest: number }>();
  for (const t of bag.metadata?.topics ?? []) {
    if (t.serializationFormat !== 'cdr') throw new BagError(join(bag.path, 'metadata.yaml'), `topic ${t.name} has serialization format "${t.serializationFormat}"; only cdr can be imported`);
  }
  const files = only ? bag.files.filter((f) => only.includes(f)) : bag.files;
  // A bag import (the CLI's, beside the daemon or not) first clears what dead writers left in staging;
  // the daemon does so at its start, not per split.
  if (source === 'import') sweepStaging(dataDir);
  // Independent, so started together: the first file's checksum (always needed), the decompressors, the
  // catalog read and the in-memory DuckDB.
  const firstHash = files.length > 0 ? sha256File(files[0]!) : undefined;
  firstHash?.catch(() => undefined); // awaited in the loop below, or abandoned with the import
  prepareStorage(bag.storage).catch(() => undefined); // a failure shows again where the file is opened
  const reading = withCatalog(paths.catalog, async (conn) => {
    const rows = (await conn.runAndReadAll('SELECT segment_id, size_bytes, raw_messages FROM bags')).getRows();
    const projections = (await conn.runAndReadAll('SELECT topic, type, table_name FROM projections')).getRows().map((r) => ({ topic: String(r[0]), type: String(r[1]), table: String(r[2]) }));
    return { segments: new Map(rows.map((r) => [String(r[0]), Number(r[2] ?? 0)])), sizes: new Set(rows.map((r) => Number(r[1]))), projections };
  }, { timeoutMs });
  const creating = DuckDBInstance.create(':memory:');
  let known: Awaited<typeof reading>;
  let instance: DuckDBInstance;
  try {
    [known, instance] = await Promise.all([reading, creating]);
  } catch (error) {
    creating.then((i) => i.closeSync(), () => undefined);
    throw error;
  }
  const tableOwners = new Map(known.projections.map((p) => [p.table, `${p.topic}\0${p.type}`]));
  const projectionOf = new Map(known.projections.map((p) => [`${p.topic}\0${p.type}`, p.table]));
  const newProjections: { topic: string; type: string; table: string }[] = [];

  const staging = newStagingDir(dataDir);
  const resolver = new BagTypeResolver(registry);
  const messages = await new TableWriter({ db: instance, staging, table: 'messages', robot, columns: MESSAGE_COLUMNS, batchRows }).open();
  const raw = new TableWriter({ db: instance, staging, table: 'raw_messages', robot, columns: RAW_COLUMNS, batchRows });
  const projections = new Map<string, Projection | null>();
  const allWriters = [messages, raw];
  /** Each writer's segment_id column, relabelled once a file's checksum is known. */
  const segmentColumns = new Map<TableWriter, number>([[messages, 0], [raw, 0]]);
  // A file's sha256 (its segment id) is computed on a worker while the file is read. Rows meanwhile carry
  // a placeholder in their dict-coded segment_id, given its real value before any batch is written.
  let segment = '';
  let pending: { label: string; hashing: Promise<string> } | undefined;
  const settle = async (): Promise<void> => {
    const p = pending;
    if (!p) return;
    const sum = await p.hashing;
    if (pending !== p) return;
    for (const [w, column] of segmentColumns) w.relabel(column, p.label, sum);
    segment = sum;
    pending = undefined;
  };
  for (const w of allWriters) w.beforeWrite = settle;
  const segmentRows: unknown[][] = [];
  try {
    for (const file of files) {
      const size = statSync(file).size;
      const hashing = file === files[0] && firstHash ? firstHash : sha256File(file);
      hashing.catch(() => undefined); // awaited below or by settle(); never left unhandled
      if (known.sizes.has(size)) {
        // Same size as a segment already imported: it may be the same file, so check before reading it.
        segment = await hashing;
        if (known.segments.has(segment)) {
          report.segments.push({ file, segmentId: segment, messages: 0, state: 'already imported', raw: known.segments.get(segment)! });
          continue;
        }
      } else {
        segment = `\0pending-checksum:${newId()}`;
        pending = { label: segment, hashing };
      }
      const reader = await openStorageFile(file, bag.storage);
      // Per topic of this file, looked up once: its type's reader (or why there is none), its projection,
      // and its dict codes (a code stays valid when the segment's placeholder is relabelled).
      const perTopic = new Map<string, TopicInfo>();
      const unknown = new Map<string, UnknownType>();
      const corrupt = new Map<string, CorruptMessages>();
      const segmentCode = messages.code(0, segment);
      const bagCode = messages.code(1, bag.name);
      let count = 0;
      let start: bigint | undefined;
      let end: bigint | undefined;
      try {
        for await (const batch of reader.batches()) {
          for (const m of batch) {
            let info = perTopic.get(m.topic);
            if (!info) {
              const topic = reader.topics().get(m.topic)!;
              if (topic.serializationFormat !== 'cdr') throw new BagError(file, `topic ${topic.name} has serialization format "${topic.serializationFormat}"; only cdr can be imported`);
              const decoder = resolver.reader(topic.type, topic.schema);
              const r = resolver.resolve(topic.type, topic.schema);
              info = { topic, decoder, reason: 'error' in r ? r.error : undefined, project: project(m.topic), proj: undefined, projSegment: 0, topicCode: messages.code(2, m.topic), typeCode: messages.code(3, topic.type) };
              perTopic.set(m.topic, info);
            }
            const topic = info.topic;
            count++;
            if (start === undefined || m.logTime < start) start = m.logTime;
            if (end === undefined || m.logTime > end) end = m.logTime;
            const reader2 = info.decoder;
            let decoded = false;
            let reason: string | undefined; // why a type has no definition
            let failure: string | undefined; // why a message of a known type did not decode
            if (!reader2) {
              reason = info.reason ?? 'unknown type';
            } else if (info.project && m.data.byteLength <= projectMaxBytes) {
              if (info.proj === undefined) {
                const key = `${m.topic}\0${topic.type}`;
                let proj = projections.get(key);
                if (proj === undefined) {
                  const r = resolver.resolve(topic.type, topic.schema);
                  if ('error' in r) proj = null;
                  else {
                    let table = projectionOf.get(key);
                    if (!table) {
                      table = projectionTable(m.topic, topic.type, tableOwners);
                      tableOwners.set(table, key);
                      projectionOf.set(key, table);
                      newProjections.push({ topic: m.topic, type: topic.type, table });
                    }
                    const columns = dedupe(flattenColumns(r.definitions));
                    const writer = await new TableWriter({ db: instance, staging, table, robot, columns: [...PROJECTION_PREFIX, ...columns], batchRows }).open();
                    allWriters.push(writer);
                    segmentColumns.set(writer, 2);
                    writer.beforeWrite = settle;
                    const lists = writer.stores.flatMap((c, i) => (c.kind === 'list' ? [i] : []));
                    proj = { writer, columns, fast: decoderFor(r.definitions), lists, marks: lists.map(() => 0) };
                  }
                  projections.set(key, proj);
                }
                info.proj = proj;
                if (proj) info.projSegment = proj.writer.code(2, segment);
              }
              const proj = info.proj;
              if (proj) {
                const error = projectRow(proj, reader2, m.data, m.logTime, m.publishTime, info.projSegment);
                if (error) failure = error.message;
                else {
                  decoded = true;
                  if (proj.writer.commit(m.logTime)) await proj.writer.flush({ wait: false });
                }
              }
            } else {
              if (info.project) {
                const o = oversized.get(m.topic) ?? { topic: m.topic, count: 0, largest: 0 };
                o.count++;
                o.largest = Math.max(o.largest, m.data.byteLength);
                oversized.set(m.topic, o);
              }
              try {
                reader2.readMessage(m.data); // not projected, but checked: a message that doesn't decode is reported
                decoded = true;
              } catch (error) {
                failure = (error as Error).message;
              }
            }
            const s = messages.stores as FixedColumn[];
            const row = messages.row;
            s[0]!.d[row] = segmentCode;
            s[1]!.d[row] = bagCode;
            s[2]!.d[row] = info.topicCode;
            s[3]!.d[row] = info.typeCode;
            s[4]!.d[row] = m.logTime;
            s[5]!.d[row] = m.publishTime;
            s[6]!.d[row] = m.offset;
            s[7]!.d[row] = m.data.byteLength;
            s[8]!.d[row] = decoded ? 1 : 0;
            if (messages.commit(m.logTime)) await messages.flush({ wait: false });
            if (decoded) report.decoded++;
            else {
              report.raw++;
              // A copy: the reader's data are views into its buffers, which this row would keep alive.
              await raw.add(partitionDate(m.logTime), [segment, bag.name, m.topic, topic.type, m.logTime, m.publishTime, blobValue(m.data.slice())]);
              if (failure !== undefined) {
                const c = corrupt.get(m.topic) ?? { file, topic: m.topic, type: topic.type, reason: failure, count: 0 };
                c.count++;
                corrupt.set(m.topic, c);
              } else {
                const u = unknown.get(m.topic) ?? { file, topic: m.topic, type: topic.type, reason: reason ?? 'unknown', count: 0 };
                u.count++;
                unknown.set(m.topic, u);
              }
            }
          }
          // A batch being written takes its chunks from this thread: give DuckDB its turn between batches.
          if (allWriters.some((w) => w.writing)) await new Promise((r) => setImmediate(r));
        }
      } finally {
        await reader.close();
      }
      await settle();
      const checksum = segment;
      report.unknownTypes.push(...unknown.values());
      report.corrupt.push(...corrupt.values());
      report.messages += count;
      report.segments.push({ file, segmentId: checksum, messages: count, state: 'imported' });
      segmentRows.push([checksum, robot, bag.name, file, bag.storage, source, start ?? null, end ?? null, count, [...perTopic.keys()], size, checksum]);
    }
    report.oversized = [...oversized.values()];
    if (report.messages === 0 && report.segments.every((s) => s.state === 'imported')) {
      // An empty bag (one split with no message: what rosbag2 and the recorder leave when nothing was
      // published; `ros2 bag info` and `ros2 bag play` take it) holds nothing to index: done, with no
      // segment, not a failure (and, for a recorded split, nothing to retry).
      return { ...report, segments: [] };
    }
    const expected = bag.metadata?.messageCount;
    const complete = !only && bag.warnings.length === 0 && report.segments.every((s) => s.state === 'imported');
    if (complete && expected !== undefined && expected !== report.messages) {
      report.warnings.push(`${join(bag.path, 'metadata.yaml')}: says ${expected} messages; the storage files hold ${report.messages}`);
    }
    const writers = [messages, raw, ...[...projections.values()].flatMap((p) => (p ? [p.writer] : []))];
    const flushing = Promise.all(writers.map((w) => w.flush())); // each has its own connection: DuckDB writes them side by side
    const written = async (): Promise<string[]> => {
      await flushing;
      report.tables = [...new Set(writers.filter((w) => w.rowsWritten > 0).map((w) => w.table))];
      return writers.flatMap((w) => w.files);
    };
    if (segmentRows.length === 0) {
      await written();
      return report;
    }
    flushing.catch(() => undefined); // awaited inside the catalog call below
    let moved: string[] = [];
    // A parquet file may hold rows of several segments of this import: each segment lists them all, and
    // retention deletes a file only with the last segment that lists it.
    try {
      await withCatalog(paths.catalog, async (cat) => {
        // The catalog opens while the last batches are written; nothing is moved or recorded before they are.
        const staged = await written();
        moved = await commitStaged(staging, paths.tables, staged);
        await cat.run('BEGIN TRANSACTION');
        for (const row of segmentRows) {
          const [id, robotId, bagName, file, storage, src, s, e, n, topics, size, sum] = row as [string, string, string, string, string, string, bigint | null, bigint | null, number, string[], number, string];
          await cat.run(
            `INSERT INTO bags (segment_id, robot, bag, path, storage, source, start_ns, end_ns, message_count, topics, size_bytes, checksum, parquet_files, raw_messages, warnings, seq)
             VALUES (${quoteString(id)}, ${quoteString(robotId)}, ${quoteString(bagName)}, ${quoteString(file)}, ${quoteString(storage)}, ${quoteString(src)}, ${s ?? 'NULL'}, ${e ?? 'NULL'}, ${n}, ${sqlList(topics)}, ${size}, ${quoteString(sum)}, ${sqlList(staged)}, ${[...report.unknownTypes, ...report.corrupt].filter((u) => u.file === file).reduce((a, u) => a + u.count, 0)}, ${sqlList(report.warnings)}, ${NEXT_SEQ})`,
          );
        }
        for (const p of newProjections) await cat.run(`INSERT OR IGNORE INTO projections VALUES (${quoteString(p.topic)}, ${quoteString(p.type)}, ${quoteString(p.table)})`);
        await cat.run('COMMIT');
      }, { timeoutMs });
    } catch (error) {
      for (const p of moved) rmSync(p, { force: true }); // the catalog did not take them: they must not be visible
      throw error;
    }
    return report;
  } finally {
    for (const w of [messages, raw, ...[...projections.values()].flatMap((p) => (p ? [p.writer] : []))]) await w.drop().catch(() => undefined);
    instance.closeSync();
    if (existsSync(staging)) rmSync(staging, { recursive: true, force: true });
  }
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
function projectRow(proj: Projection, reader: MessageReader, data: Uint8Array, logTime: bigint, publishTime: bigint, segment: number): Error | undefined {
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

function sqlList(items: readonly string[]): string {
  return `[${items.map(quoteString).join(', ')}]::VARCHAR[]`;
}

const RESERVED = new Set(PROJECTION_PREFIX.map((c) => c.name));

/** Message fields named like our own columns are prefixed with `msg.`. */
function dedupe(columns: FlatColumn[]): FlatColumn[] {
  return columns.map((c) => (RESERVED.has(c.name) ? { ...c, name: `msg.${c.name}` } : c));
}
