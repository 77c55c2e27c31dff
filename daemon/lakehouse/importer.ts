import { createHash } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { blobValue, DuckDBInstance } from '@duckdb/node-api';
import type { MessageDefinition } from '@foxglove/message-definition';
import type { MessageReader } from '@foxglove/rosmsg2-serialization';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { BagError } from '../bags/index.ts';
import { BagTypeResolver } from '../bags/index.ts';
import { locateBag, openBagFile, prepareStorage } from '../bags/index.ts';
import type { StorageTopic } from '../bags/index.ts';
import { newId } from '../contract/index.ts';
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
  const { dataDir, source = 'import', only, catalogWaitMs: timeoutMs, signal } = options;
  signal?.throwIfAborted();
  const bag = locateBag(options.path);
  for (const t of bag.metadata?.topics ?? []) {
    if (t.serializationFormat !== 'cdr')
      throw new BagError(
        join(bag.path, 'metadata.yaml'),
        `topic ${t.name} has serialization format "${t.serializationFormat}"; only cdr can be imported`,
      );
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
  const { known, instance } = await readCatalogBeside(lakehousePaths(dataDir).catalog, timeoutMs);
  const run = new BagImport(options, bag, known, instance);
  try {
    await run.open();
    for (const file of files) await run.importFile(file, file === files[0] ? firstHash : undefined);
    return await run.finish();
  } finally {
    await run.close();
  }
}

/** What the catalog already holds: segments (with their raw counts), their sizes, and projection tables. */
interface KnownToCatalog {
  segments: Map<string, number>;
  sizes: Set<number>;
  projections: { topic: string; type: string; table: string }[];
}

/** Reads what the catalog knows while an in-memory DuckDB starts; neither is left open if the other fails. */
async function readCatalogBeside(
  catalog: string,
  timeoutMs: number | undefined,
): Promise<{ known: KnownToCatalog; instance: DuckDBInstance }> {
  const reading = withCatalog(
    catalog,
    async (conn) => {
      const rows = (await conn.runAndReadAll('SELECT segment_id, size_bytes, raw_messages FROM bags')).getRows();
      const projections = (await conn.runAndReadAll('SELECT topic, type, table_name FROM projections'))
        .getRows()
        .map((r) => ({ topic: String(r[0]), type: String(r[1]), table: String(r[2]) }));
      return {
        segments: new Map(rows.map((r) => [String(r[0]), Number(r[2] ?? 0)])),
        sizes: new Set(rows.map((r) => Number(r[1]))),
        projections,
      };
    },
    { timeoutMs },
  );
  const creating = DuckDBInstance.create(':memory:');
  try {
    const [known, instance] = await Promise.all([reading, creating]);
    return { known, instance };
  } catch (error) {
    creating.then(
      (i) => i.closeSync(),
      () => undefined,
    );
    throw error;
  }
}

/** A row of `bags`, one per imported storage file. */
interface SegmentRow {
  id: string;
  file: string;
  start: bigint | null;
  end: bigint | null;
  count: number;
  topics: string[];
  size: number;
}

/**
 * One import of a bag, file by file: its writers (staged parquet), the projections it opened and what it
 * reports. `open` first; `close` always, which drops what was staged and not committed.
 */
class BagImport {
  readonly #bag: ReturnType<typeof locateBag>;
  readonly #dataDir: string;
  readonly #robot: string;
  readonly #source: 'import' | 'recorder';
  readonly #only: readonly string[] | undefined;
  readonly #project: (topic: string) => boolean;
  readonly #projectMaxBytes: number;
  readonly #batchRows: number;
  readonly #timeoutMs: number | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #known: KnownToCatalog;
  readonly #instance: DuckDBInstance;
  readonly #report: ImportReport;
  readonly #oversized = new Map<string, { topic: string; count: number; largest: number }>();
  readonly #tableOwners: Map<string, string>;
  readonly #projectionOf: Map<string, string>;
  readonly #newProjections: { topic: string; type: string; table: string }[] = [];
  readonly #staging: string;
  readonly #resolver: BagTypeResolver;
  readonly #messages: TableWriter;
  readonly #raw: TableWriter;
  readonly #projections = new Map<string, Projection | null>();
  readonly #allWriters: TableWriter[];
  /** Each writer's segment_id column, relabelled once a file's checksum is known. */
  readonly #segmentColumns: Map<TableWriter, number>;
  readonly #segmentRows: SegmentRow[] = [];
  // A file's sha256 (its segment id) is computed on a worker while the file is read. Rows meanwhile carry
  // a placeholder in their dict-coded segment_id, given its real value before any batch is written.
  #segment = '';
  #pending: { label: string; hashing: Promise<string> } | undefined;

  constructor(
    options: ImportOptions,
    bag: ReturnType<typeof locateBag>,
    known: KnownToCatalog,
    instance: DuckDBInstance,
  ) {
    const {
      dataDir,
      robot,
      registry,
      source = 'import',
      only,
      project = () => true,
      projectMaxBytes = 65536,
      batchRows = 200_000,
      catalogWaitMs,
      signal,
    } = options;
    this.#bag = bag;
    this.#signal = signal;
    this.#dataDir = dataDir;
    this.#robot = robot;
    this.#source = source;
    this.#only = only;
    this.#project = project;
    this.#projectMaxBytes = projectMaxBytes;
    this.#batchRows = batchRows;
    this.#timeoutMs = catalogWaitMs;
    this.#known = known;
    this.#instance = instance;
    this.#report = {
      bag: bag.path,
      storage: bag.storage,
      segments: [],
      messages: 0,
      decoded: 0,
      raw: 0,
      unknownTypes: [],
      corrupt: [],
      warnings: [...bag.warnings],
      tables: [],
      oversized: [],
    };
    this.#tableOwners = new Map(known.projections.map((p) => [p.table, `${p.topic}\0${p.type}`]));
    this.#projectionOf = new Map(known.projections.map((p) => [`${p.topic}\0${p.type}`, p.table]));
    this.#staging = newStagingDir(dataDir);
    this.#resolver = new BagTypeResolver(registry);
    this.#messages = new TableWriter({
      db: instance,
      staging: this.#staging,
      table: 'messages',
      robot,
      columns: MESSAGE_COLUMNS,
      batchRows,
    });
    this.#raw = new TableWriter({
      db: instance,
      staging: this.#staging,
      table: 'raw_messages',
      robot,
      columns: RAW_COLUMNS,
      batchRows,
    });
    this.#allWriters = [this.#messages, this.#raw];
    this.#segmentColumns = new Map([
      [this.#messages, 0],
      [this.#raw, 0],
    ]);
    for (const w of this.#allWriters) w.beforeWrite = this.#settle;
  }

  async open(): Promise<void> {
    await this.#messages.open();
  }

  /** Gives the rows written so far their file's checksum, once it is known (before a batch is written). */
  readonly #settle = async (): Promise<void> => {
    const p = this.#pending;
    if (!p) return;
    const sum = await p.hashing;
    if (this.#pending !== p) return;
    for (const [w, column] of this.#segmentColumns) w.relabel(column, p.label, sum);
    this.#segment = sum;
    this.#pending = undefined;
  };

  /** Imports one storage file as a segment, or skips it when the catalog already holds its checksum. */
  async importFile(file: string, hashed: Promise<string> | undefined): Promise<void> {
    const size = statSync(file).size;
    const hashing = hashed ?? sha256File(file);
    hashing.catch(() => undefined); // awaited below or by settle(); never left unhandled
    if (this.#known.sizes.has(size)) {
      // Same size as a segment already imported: it may be the same file, so check before reading it.
      this.#segment = await hashing;
      const raw = this.#known.segments.get(this.#segment);
      if (raw !== undefined) {
        this.#report.segments.push({ file, segmentId: this.#segment, messages: 0, state: 'already imported', raw });
        return;
      }
    } else {
      this.#segment = `\0pending-checksum:${newId()}`;
      this.#pending = { label: this.#segment, hashing };
    }
    await this.#readFile(file, size);
  }

  /** Reads a file's messages into the writers (the import's hot loop: nothing in it awaits per message). */
  async #readFile(file: string, size: number): Promise<void> {
    const bag = this.#bag;
    const report = this.#report;
    const messages = this.#messages;
    const reader = await openBagFile(bag, file);
    // Per topic of this file, looked up once: its type's reader (or why there is none), its projection,
    // and its dict codes (a code stays valid when the segment's placeholder is relabelled).
    const perTopic = new Map<string, TopicInfo>();
    const unknown = new Map<string, UnknownType>();
    const corrupt = new Map<string, CorruptMessages>();
    const segmentCode = messages.code(0, this.#segment);
    const bagCode = messages.code(1, bag.name);
    let count = 0;
    let start: bigint | undefined;
    let end: bigint | undefined;
    try {
      for await (const batch of reader.batches()) {
        this.#signal?.throwIfAborted();
        for (const m of batch) {
          let info = perTopic.get(m.topic);
          if (!info) {
            info = this.#topicInfo(file, m.topic, reader.topics().get(m.topic)!);
            perTopic.set(m.topic, info);
          }
          const topic = info.topic;
          count++;
          if (start === undefined || m.logTime < start) start = m.logTime;
          if (end === undefined || m.logTime > end) end = m.logTime;
          const decoder = info.decoder;
          let decoded = false;
          let reason: string | undefined; // why a type has no definition
          let failure: string | undefined; // why a message of a known type did not decode
          if (!decoder) {
            reason = info.reason ?? 'unknown type';
          } else if (info.project && m.data.byteLength <= this.#projectMaxBytes) {
            if (info.proj === undefined) await this.#attachProjection(info, m.topic); // once per topic of a file
            const proj = info.proj;
            if (proj) {
              const error = projectRow(proj, decoder, m.data, m.logTime, m.publishTime, info.projSegment);
              if (error) failure = error.message;
              else {
                decoded = true;
                if (proj.writer.commit(m.logTime)) await proj.writer.flush({ wait: false });
              }
            }
          } else {
            if (info.project) this.#countOversized(m.topic, m.data.byteLength);
            try {
              decoder.readMessage(m.data); // not projected, but checked: a message that doesn't decode is reported
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
            await this.#raw.add(partitionDate(m.logTime), [
              this.#segment,
              bag.name,
              m.topic,
              topic.type,
              m.logTime,
              m.publishTime,
              blobValue(m.data.slice()),
            ]);
            if (failure !== undefined) countIn(corrupt, file, m.topic, topic.type, failure);
            else countIn(unknown, file, m.topic, topic.type, reason ?? 'unknown');
          }
        }
        // A batch being written takes its chunks from this thread: give DuckDB its turn between batches.
        if (this.#allWriters.some((w) => w.writing)) await new Promise((r) => setImmediate(r));
      }
    } finally {
      await reader.close();
    }
    await this.#settle();
    const checksum = this.#segment;
    report.unknownTypes.push(...unknown.values());
    report.corrupt.push(...corrupt.values());
    report.messages += count;
    report.segments.push({ file, segmentId: checksum, messages: count, state: 'imported' });
    this.#segmentRows.push({
      id: checksum,
      file,
      start: start ?? null,
      end: end ?? null,
      count,
      topics: [...perTopic.keys()],
      size,
    });
  }

  /** What the loop keeps of a topic, looked up at its first message in a file. */
  #topicInfo(file: string, name: string, topic: StorageTopic): TopicInfo {
    if (topic.serializationFormat !== 'cdr') {
      throw new BagError(
        file,
        `topic ${topic.name} has serialization format "${topic.serializationFormat}"; only cdr can be imported`,
      );
    }
    const decoder = this.#resolver.reader(topic.type, topic.schema);
    const r = this.#resolver.resolve(topic.type, topic.schema);
    return {
      topic,
      decoder,
      reason: 'error' in r ? r.error : undefined,
      project: this.#project(name),
      proj: undefined,
      projSegment: 0,
      topicCode: this.#messages.code(2, name),
      typeCode: this.#messages.code(3, topic.type),
    };
  }

  /**
   * Gives a topic its projection: the table this import opened for its type already, or a new writer on
   * the table the catalog names for it (or a new table). null when its type has no full definition.
   */
  async #attachProjection(info: TopicInfo, name: string): Promise<void> {
    const { type, schema } = info.topic;
    const key = `${name}\0${type}`;
    let proj = this.#projections.get(key);
    if (proj === undefined) {
      const r = this.#resolver.resolve(type, schema);
      if ('error' in r) proj = null;
      else {
        let table = this.#projectionOf.get(key);
        if (!table) {
          table = projectionTable(name, type, this.#tableOwners);
          this.#tableOwners.set(table, key);
          this.#projectionOf.set(key, table);
          this.#newProjections.push({ topic: name, type, table });
        }
        const columns = dedupe(flattenColumns(r.definitions));
        const writer = await new TableWriter({
          db: this.#instance,
          staging: this.#staging,
          table,
          robot: this.#robot,
          columns: [...PROJECTION_PREFIX, ...columns],
          batchRows: this.#batchRows,
        }).open();
        this.#allWriters.push(writer);
        this.#segmentColumns.set(writer, 2);
        writer.beforeWrite = this.#settle;
        const lists = writer.stores.flatMap((c, i) => (c.kind === 'list' ? [i] : []));
        proj = { writer, columns, fast: decoderFor(r.definitions), lists, marks: lists.map(() => 0) };
      }
      this.#projections.set(key, proj);
    }
    info.proj = proj;
    if (proj) info.projSegment = proj.writer.code(2, this.#segment);
  }

  /** A message of a projected topic too large to decode into columns: indexed, and reported as such. */
  #countOversized(topic: string, bytes: number): void {
    const o = this.#oversized.get(topic) ?? { topic, count: 0, largest: 0 };
    o.count++;
    o.largest = Math.max(o.largest, bytes);
    this.#oversized.set(topic, o);
  }

  /** Ends the import: every writer flushed, the parquet moved into the tables and the segments cataloged. */
  async finish(): Promise<ImportReport> {
    const bag = this.#bag;
    const report = this.#report;
    report.oversized = [...this.#oversized.values()];
    if (report.messages === 0 && report.segments.every((s) => s.state === 'imported')) {
      // An empty bag (one split with no message: what rosbag2 and the recorder leave when nothing was
      // published; `ros2 bag info` and `ros2 bag play` take it) holds nothing to index: done, with no
      // segment, not a failure (and, for a recorded split, nothing to retry).
      return { ...report, segments: [] };
    }
    const expected = bag.metadata?.messageCount;
    const complete = !this.#only && bag.warnings.length === 0 && report.segments.every((s) => s.state === 'imported');
    if (complete && expected !== undefined && expected !== report.messages) {
      report.warnings.push(
        `${join(bag.path, 'metadata.yaml')}: says ${expected} messages; the storage files hold ${report.messages}`,
      );
    }
    const writers = this.#writers();
    // each has its own connection: DuckDB writes them side by side
    const flushing = Promise.all(writers.map((w) => w.flush()));
    const written = async (): Promise<string[]> => {
      await flushing;
      report.tables = [...new Set(writers.filter((w) => w.rowsWritten > 0).map((w) => w.table))];
      return writers.flatMap((w) => w.files);
    };
    if (this.#segmentRows.length === 0) {
      await written();
      return report;
    }
    flushing.catch(() => undefined); // awaited inside the catalog call below
    await this.#commit(written);
    return report;
  }

  /**
   * Moves the staged parquet into the tables and records the segments and new projections in one
   * transaction; a file the catalog did not take is deleted again.
   */
  async #commit(written: () => Promise<string[]>): Promise<void> {
    const paths = lakehousePaths(this.#dataDir);
    const bag = this.#bag;
    const report = this.#report;
    let moved: string[] = [];
    // A parquet file may hold rows of several segments of this import: each segment lists them all, and
    // retention deletes a file only with the last segment that lists it.
    try {
      await withCatalog(
        paths.catalog,
        async (cat) => {
          // The catalog opens while the last batches are written; nothing is moved or recorded before they are.
          const staged = await written();
          this.#signal?.throwIfAborted(); // the last point where nothing is visible yet
          moved = await commitStaged(this.#staging, paths.tables, staged);
          await cat.run('BEGIN TRANSACTION');
          for (const { id, file, start, end, count, topics, size } of this.#segmentRows) {
            const raw = [...report.unknownTypes, ...report.corrupt]
              .filter((u) => u.file === file)
              .reduce((a, u) => a + u.count, 0);
            await cat.run(
              `INSERT INTO bags (segment_id, robot, bag, path, storage, source, start_ns, end_ns, message_count, topics, size_bytes, checksum, parquet_files, raw_messages, warnings, seq)
             VALUES (${quoteString(id)}, ${quoteString(this.#robot)}, ${quoteString(bag.name)}, ${quoteString(file)}, ${quoteString(bag.storage)}, ${quoteString(this.#source)}, ${start ?? 'NULL'}, ${end ?? 'NULL'}, ${count}, ${sqlList(topics)}, ${size}, ${quoteString(id)}, ${sqlList(staged)}, ${raw}, ${sqlList(report.warnings)}, ${NEXT_SEQ})`,
            );
          }
          for (const p of this.#newProjections)
            await cat.run(
              `INSERT OR IGNORE INTO projections VALUES (${quoteString(p.topic)}, ${quoteString(p.type)}, ${quoteString(p.table)})`,
            );
          await cat.run('COMMIT');
        },
        { timeoutMs: this.#timeoutMs },
      );
    } catch (error) {
      for (const p of moved) rmSync(p, { force: true }); // the catalog did not take them: they must not be visible
      throw error;
    }
  }

  /** The import's writers: messages, raw messages and each projection's. */
  #writers(): TableWriter[] {
    return [this.#messages, this.#raw, ...[...this.#projections.values()].flatMap((p) => (p ? [p.writer] : []))];
  }

  /** Drops what was staged and not committed, and closes the in-memory DuckDB. */
  async close(): Promise<void> {
    for (const w of this.#writers()) await w.drop().catch(() => undefined);
    this.#instance.closeSync();
    if (existsSync(this.#staging)) rmSync(this.#staging, { recursive: true, force: true });
  }
}

/** Counts a message kept raw under its topic (unknown type, or corrupt), keeping the first reason. */
function countIn(counts: Map<string, UnknownType>, file: string, topic: string, type: string, reason: string): void {
  const c = counts.get(topic) ?? { file, topic, type, reason, count: 0 };
  c.count++;
  counts.set(topic, c);
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
function projectRow(
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

function sqlList(items: readonly string[]): string {
  return `[${items.map(quoteString).join(', ')}]::VARCHAR[]`;
}

const RESERVED = new Set(PROJECTION_PREFIX.map((c) => c.name));

/** Message fields named like our own columns are prefixed with `msg.`. */
function dedupe(columns: FlatColumn[]): FlatColumn[] {
  return columns.map((c) => (RESERVED.has(c.name) ? { ...c, name: `msg.${c.name}` } : c));
}
