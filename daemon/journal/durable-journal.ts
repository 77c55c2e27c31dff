import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import type { Journal, JournalEntry, JournalRecord } from '../contract/index.ts';
import { nowNs, errorText } from '../util/index.ts';
import type { SerializedEntry } from './append-many.ts';
import { MAX_RECORD_BYTES } from './frame.ts';
import { JournalSegments, type RawRecord } from './journal-segments.ts';
import { RecordStage } from './record-stage.ts';
import { lastSeqOf, locate } from './segment-scan.ts';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface DurableJournalOptions {
  /** The journal's directory (`<data_dir>/log`). */
  dir: string;
  /**
   * `always`: an append resolves after fdatasync (appends that arrive during one fsync share the next).
   * `interval`: fsync every `intervalMs`; an append resolves after the fsync that covers it.
   * `never`: resolves once the OS has the bytes (survives a process crash, not a power cut).
   */
  fsync?: FsyncPolicy;
  intervalMs?: number;
  /** A segment is closed and a new one started once it reaches this size. */
  segmentBytes?: number;
  /**
   * Told about torn or corrupt records found at open: a torn tail is cut off, any other damage is moved to
   * `<segment>.corrupt-<offset>` and the records after it are kept.
   */
  onRecovery?: (message: string) => void;
  /** The fdatasync to use; a test passes one that fails. */
  fdatasync?: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;
}

/**
 * A record on its way to the disk. Only the last record of an append call holds its promise's callbacks
 * (and what it resolves with): records of one call are written, synced or failed together.
 */
interface Pending {
  record: JournalRecord;
  bytes: number;
  resolve: ((result: never) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
  result: JournalRecord | JournalRecord[] | undefined;
}

/**
 * An append-only journal of JSON records in segment files `<firstSeq>.log`, each record framed with its
 * length and CRC32. At open it scans every segment and cuts a torn tail (what `kill -9` or a power cut
 * leaves), so readers only ever see whole records. Other damage (a flipped bit) costs only the records it
 * hit: their bytes are moved aside (see recoverSegment) and their seqs stay unused, a gap readers skip.
 * Appends are serialized: callers need not wait for one append before making the next, but records are
 * durable, and listeners told, only in seq order. A record over MAX_RECORD_BYTES is refused.
 */
export class DurableJournal implements Journal {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  #segmentBytes: number;
  #segments: JournalSegments;
  #fd: number | undefined;
  /** Last record written to the file (readable); records still in #pending have higher seqs. */
  #lastSeq = 0;
  #nextSeq = 1;
  #pending: Pending[] = [];
  /** The frames of #pending, encoded in place: the next write sends them, then the buffer is reused. */
  #stage = new RecordStage();
  /** The size of the frame #stage encoded last. */
  #lastBytes = 0;
  #unsynced: Pending[] = [];
  #syncing = false;
  #timer: NodeJS.Timeout | undefined;
  #listeners = new Set<(record: JournalRecord) => void>();
  #closed = false;
  #closing = false;
  #fdatasync: NonNullable<DurableJournalOptions['fdatasync']>;
  #idleWaiters: (() => void)[] = [];

  constructor(options: DurableJournalOptions) {
    const {
      dir,
      fsync = 'always',
      intervalMs = 100,
      segmentBytes = 64 * 1024 * 1024,
      onRecovery = () => {},
      fdatasync: sync = fdatasync,
    } = options;
    this.#fdatasync = sync;
    this.dir = dir;
    this.fsync = fsync;
    this.#segmentBytes = segmentBytes;
    mkdirSync(dir, { recursive: true });
    this.#segments = new JournalSegments(dir);
    ({ lastSeq: this.#lastSeq, nextSeq: this.#nextSeq } = this.#segments.open(onRecovery));
    const last = this.#segments.last;
    if (last) {
      this.#fd = openSync(last.path, 'a');
      last.size = fstatSync(this.#fd).size;
    }
    if (fsync === 'interval') {
      this.#timer = setInterval(() => this.#sync(), intervalMs);
      this.#timer.unref();
    }
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get firstSeq(): number {
    return this.#segments.firstSeq;
  }

  append(kind: string, data: unknown): Promise<JournalRecord> {
    const refused = this.#refusal();
    if (refused) return Promise.reject(refused);
    // The data is serialized before its seq is taken: data that cannot be (a BigInt, a cycle) leaves no gap.
    let body: string | undefined;
    try {
      body = JSON.stringify(data);
    } catch (error) {
      return Promise.reject(this.#notJson(kind, error));
    }
    const tooLarge = this.#tooLarge(kind, body);
    if (tooLarge) return Promise.reject(tooLarge);
    const record = this.#take(kind, data, body);
    return new Promise((resolve, reject) => this.#enqueue(record, resolve, reject, record));
  }

  /**
   * Appends several records at once: they take consecutive seqs, go to the OS in one write and resolve
   * together (all durable, or all failed), with one promise instead of one per record. Nothing is appended
   * when any entry's data has no JSON form. An entry that carries its data's JSON text (SerializedEntry)
   * is written with that text.
   */
  appendMany(entries: readonly JournalEntry[]): Promise<JournalRecord[]> {
    if (entries.length === 0) return Promise.resolve([]);
    const refused = this.#refusal();
    if (refused) return Promise.reject(refused);
    const bodies: (string | undefined)[] = [];
    for (const entry of entries) {
      try {
        bodies.push((entry as Partial<SerializedEntry>).json ?? JSON.stringify(entry.data));
      } catch (error) {
        return Promise.reject(this.#notJson(entry.kind, error));
      }
      const tooLarge = this.#tooLarge(entry.kind, bodies.at(-1));
      if (tooLarge) return Promise.reject(tooLarge);
    }
    const records: JournalRecord[] = [];
    for (let i = 0; i < entries.length - 1; i++) {
      const record = this.#take(entries[i]!.kind, entries[i]!.data, bodies[i]);
      records.push(record);
      this.#enqueue(record, undefined, undefined, undefined);
    }
    const last = entries.at(-1)!;
    records.push(this.#take(last.kind, last.data, bodies.at(-1)));
    return new Promise((resolve, reject) => this.#enqueue(records.at(-1)!, resolve, reject, records));
  }

  /** Why an append cannot be taken now, after rotating to a new segment if this one is full. */
  #refusal(): Error | undefined {
    if (this.#closed) return new Error('journal is closed');
    const segment = this.#segments.last;
    // A segment may end up one append over segmentBytes: rotating before the seqs are taken keeps seqs
    // dense even when the flush of the old segment fails.
    if (!segment || segment.size + this.#stage.length >= this.#segmentBytes) {
      try {
        this.#flushWrites();
        this.#startSegment(this.#nextSeq);
      } catch (error) {
        return new Error(`journal ${this.dir}: cannot start a new segment: ${errorText(error)}`);
      }
    }
    return undefined;
  }

  /**
   * A record over MAX_RECORD_BYTES is refused before it takes a seq: the journal only acknowledges records
   * every reader of it takes.
   */
  #tooLarge(kind: string, body: string | undefined): Error | undefined {
    // The head (seq, ts, kind) is small: bound it by the kind's length, and measure the data only when its
    // length in UTF-16 units could be over the limit.
    if (body === undefined || 3 * body.length + 3 * kind.length + 80 <= MAX_RECORD_BYTES) return undefined;
    const bytes = Buffer.byteLength(body) + Buffer.byteLength(JSON.stringify(kind)) + 80;
    if (bytes <= MAX_RECORD_BYTES) return undefined;
    return new Error(
      `journal ${this.dir}: cannot append a ${kind} record of ${bytes} bytes: over the journal's limit of ${MAX_RECORD_BYTES} bytes (16 MiB) a record; nothing was appended`,
    );
  }

  #notJson(kind: string, error: unknown): Error {
    return new Error(`journal ${this.dir}: cannot append a ${kind} record: its data is not JSON (${errorText(error)})`);
  }

  /** Takes the next seq and encodes the record into the write buffer. */
  #take(kind: string, data: unknown, body: string | undefined): JournalRecord {
    const record: JournalRecord = { seq: this.#nextSeq++, ts: nowNs().toString(), kind, data };
    this.#lastBytes = this.#stage.add(record, body);
    return record;
  }

  #enqueue(
    record: JournalRecord,
    resolve: Pending['resolve'],
    reject: Pending['reject'],
    result: Pending['result'],
  ): void {
    this.#pending.push({ record, bytes: this.#lastBytes, resolve, reject, result });
    // Records appended in the same tick go to disk in one write.
    if (this.#pending.length === 1) queueMicrotask(this.#flushWrites);
  }

  #flushWrites = (): void => {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    const staged = this.#stage.take();
    this.#pending = [];
    const segment = this.#segments.last!;
    try {
      writeAll(this.#fd!, staged.buffer, staged.length);
    } catch (error) {
      // Leave no partial frame behind: a later record must not follow garbage.
      try {
        ftruncateSync(this.#fd!, segment.size);
      } catch {
        // the torn tail is cut at the next open anyway
      }
      this.#nextSeq = batch[0]!.record.seq; // the failed records were never written: their seqs are free again
      const code = (error as NodeJS.ErrnoException).code;
      // The errno goes with it: the API answers a full disk with 507, not 500.
      const failure = Object.assign(
        new Error(
          `journal ${segment.path}: cannot append${code === 'ENOSPC' ? ': the disk is full' : ''}: ${errorText(error)}`,
        ),
        { code },
      );
      for (const p of batch) p.reject?.(failure);
      return;
    } finally {
      this.#stage.shrink();
    }
    for (const p of batch) {
      // The first record after a gap (seqs lost to damage at open) starts a run.
      if (lastSeqOf(segment.runs, segment.offsets.length) !== p.record.seq - 1)
        segment.runs.push({ index: segment.offsets.length, seq: p.record.seq });
      segment.offsets.push(segment.size);
      segment.size += p.bytes;
      this.#lastSeq = p.record.seq;
      this.#unsynced.push(p);
    }
    if (this.fsync === 'never') this.#settle(this.#unsynced.splice(0), undefined);
    else if (this.fsync === 'always') this.#sync();
  };

  read(fromSeq: number, limit: number): JournalRecord[] {
    return this.#segments.read(fromSeq, limit, this.#lastSeq);
  }

  /**
   * As read(), each record as the UTF-8 JSON bytes the journal holds for it (JSON.stringify(record)'s text),
   * for a reader that passes records on as they are (the central link's outbox): no decoding, no parse, no
   * second stringify; each record's CRC still checked. Stops before passing `maxBytes`, after one record at least.
   * The bytes are views of a buffer the next readRaw reuses: copy what you keep.
   */
  readRaw(fromSeq: number, limit: number, maxBytes = Number.MAX_SAFE_INTEGER): RawRecord[] {
    return this.#segments.readRaw(fromSeq, limit, this.#lastSeq, maxBytes);
  }

  /** Bytes on disk over every segment. */
  get sizeBytes(): number {
    return this.#segments.sizeBytes;
  }

  /**
   * Deletes whole closed segments, oldest first, while `shouldDrop(info)` says so, but never one holding a
   * record at or after `keepFrom` (what a reader still needs) and never the open segment; a segment's
   * `.corrupt-*` files (see recoverSegment) go with it. Returns what went.
   */
  prune(
    keepFrom: number,
    shouldDrop: (segment: { firstSeq: number; lastSeq: number; sizeBytes: number; lastTs: bigint }) => boolean,
  ): { segments: number; bytes: number; records: number } {
    return this.#segments.prune(keepFrom, shouldDrop);
  }

  subscribe(listener: (record: JournalRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Makes everything appended durable, then closes the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    clearInterval(this.#timer);
    this.#flushWrites();
    await new Promise<void>((resolve) => {
      if (!this.#syncing && this.#unsynced.length === 0) return resolve();
      this.#idleWaiters.push(resolve);
      this.#sync();
    });
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#segments.closeReaders();
  }

  #sync(): void {
    if (this.#syncing || this.#unsynced.length === 0 || this.#fd === undefined) return;
    this.#syncing = true;
    const batch = this.#unsynced.splice(0);
    this.#fdatasync(this.#fd, (error) => {
      this.#syncing = false;
      if (error) {
        this.#rollBack(batch, error);
        return;
      }
      this.#settle(batch, undefined);
      // Appends that arrived during this fsync share the next one.
      if (this.fsync === 'always' || this.#closing) this.#sync();
      if (!this.#syncing && this.#unsynced.length === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  /**
   * After a failed fsync nothing since the last good one can be trusted (Linux may drop the dirty pages and
   * clear the error), and none of it was acknowledged: cut the file back to the last durable record and
   * reject every record after it, so no reader ever serves a record its writer was told failed.
   */
  #rollBack(batch: Pending[], error: Error): void {
    const failed = [...batch, ...this.#unsynced.splice(0), ...this.#pending.splice(0)];
    this.#stage.clear();
    const firstSeq = batch[0]!.record.seq;
    const segment = this.#segments.last!;
    const at = locate(segment.runs, segment.offsets.length, firstSeq);
    if ('index' in at) {
      const index = at.index;
      try {
        ftruncateSync(this.#fd!, segment.offsets[index]!);
        segment.size = segment.offsets[index]!;
      } catch {
        // the torn tail is cut at the next open anyway; the index and the seqs below are still reset
      }
      segment.offsets.length = index;
      segment.runs = segment.runs.filter((run) => run.index < index);
    }
    this.#lastSeq = firstSeq - 1;
    this.#nextSeq = firstSeq;
    const failure = new Error(
      `journal: fsync failed, records from ${firstSeq} on were not made durable and are dropped: ${error.message}`,
    );
    for (const p of failed) p.reject?.(failure);
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #settle(batch: Pending[], error: Error | undefined): void {
    for (const p of batch) {
      if (error) {
        p.reject?.(new Error(`journal: fsync failed, record ${p.record.seq} may not be durable: ${error.message}`));
        continue;
      }
      p.resolve?.(p.result as never);
      for (const listener of this.#listeners) {
        try {
          listener(p.record);
        } catch {
          // a listener's failure is its own; the journal and the other listeners carry on
        }
      }
    }
  }

  #startSegment(firstSeq: number): void {
    if (this.#fd !== undefined) {
      // The pending fsync will run on the new segment's fd, so make the old one durable now (rotation is rare).
      fdatasyncSync(this.#fd);
      closeSync(this.#fd);
    }
    this.#fd = openSync(this.#segments.pathOf(firstSeq), 'a');
    this.#segments.add(firstSeq);
  }
}

function writeAll(fd: number, bytes: Buffer, length: number): void {
  let written = 0;
  while (written < length) written += writeSync(fd, bytes, written, length - written);
}
