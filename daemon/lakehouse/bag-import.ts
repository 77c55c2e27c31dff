import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { blobValue, type DuckDBInstance } from '@duckdb/node-api';
import type { MessageReader } from '@foxglove/rosmsg2-serialization';
import { BagError, BagTypeResolver, openBagFile, type locateBag, type StorageTopic } from '../bags/index.ts';
import type { FixedColumn } from './column-batch.ts';
import { sha256File } from './file-hash.ts';
import { newStagingDir } from './housekeeping.ts';
import { commitImport, type SegmentRow } from './import-commit.ts';
import {
  countIn,
  MESSAGE_COLUMNS,
  RAW_COLUMNS,
  type CorruptMessages,
  type KnownToCatalog,
  type ImportOptions,
  type ImportReport,
  type UnknownType,
} from './import-types.ts';
import { SegmentLabel } from './segment-label.ts';
import { openProjection, projectionTable, projectRow, type Projection } from './projection.ts';
import { partitionDate } from './parquet-files.ts';
import { TableWriter } from './table-writer.ts';
import { errorText } from '../util/index.ts';

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

/**
 * One import of a bag, file by file: its writers (staged parquet), the projections it opened and what it
 * reports. `open` first; `close` always, which drops what was staged and not committed.
 */
export class BagImport {
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
  readonly #segmentRows: SegmentRow[] = [];
  /** The segment id of the file being read (its sha256, computed while it is read). */
  readonly #segment = new SegmentLabel();

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
    this.#segment.track(this.#messages, 0);
    this.#segment.track(this.#raw, 0);
  }

  async open(): Promise<void> {
    await this.#messages.open();
  }

  /** Imports one storage file as a segment, or skips it when the catalog already holds its checksum. */
  async importFile(file: string, hashed: Promise<string> | undefined): Promise<void> {
    const size = statSync(file).size;
    const hashing = hashed ?? sha256File(file);
    hashing.catch(() => undefined); // awaited below or by settle(); never left unhandled
    if (this.#known.sizes.has(size)) {
      // Same size as a segment already imported: it may be the same file, so check before reading it.
      this.#segment.known(await hashing);
      const raw = this.#known.segments.get(this.#segment.current);
      if (raw !== undefined) {
        this.#report.segments.push({
          file,
          segmentId: this.#segment.current,
          messages: 0,
          state: 'already imported',
          raw,
        });
        return;
      }
    } else {
      this.#segment.hashing(hashing);
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
    const segmentCode = messages.code(0, this.#segment.current);
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
              failure = errorText(error);
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
              this.#segment.current,
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
    await this.#segment.settle();
    const checksum = this.#segment.current;
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
        proj = await openProjection(r.definitions, {
          db: this.#instance,
          staging: this.#staging,
          table,
          robot: this.#robot,
          batchRows: this.#batchRows,
        });
        this.#allWriters.push(proj.writer);
        this.#segment.track(proj.writer, 2);
      }
      this.#projections.set(key, proj);
    }
    info.proj = proj;
    if (proj) info.projSegment = proj.writer.code(2, this.#segment.current);
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
    await commitImport({
      dataDir: this.#dataDir,
      robot: this.#robot,
      bag,
      source: this.#source,
      staging: this.#staging,
      written,
      segments: this.#segmentRows,
      newProjections: this.#newProjections,
      report,
      signal: this.#signal,
      timeoutMs: this.#timeoutMs,
    });
    return report;
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
