import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import type { Journal, JournalEntry, JournalRecord } from '../contract/index.ts';
import { nowNs } from '../contract/index.ts';
import type { SerializedEntry } from './append-many.ts';
import { decodeFrame, FRAME_HEADER, MAX_RECORD_BYTES, sealFrame } from './frame.ts';
import { recoverSegment } from './segment-recovery.ts';
import { lastSeqOf, locate, scanSegment, type SeqRun } from './segment-scan.ts';

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

interface Segment {
  firstSeq: number;
  path: string;
  /** Byte offset of each record, in seq order. */
  offsets: number[];
  /** Seqs are consecutive within a run; records lost to corruption leave a gap between runs. */
  runs: SeqRun[];
  size: number;
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

/** The write buffer's usual size; one grown past STAGE_KEEP for a large record is dropped after its write. */
const STAGE_BYTES = 64 * 1024;
const STAGE_KEEP = 1024 * 1024;
/** Up to this many UTF-16 units, a string's UTF-8 size is bounded by 3 bytes a unit instead of measured. */
const MEASURE_FROM = 16 * 1024;

/** Each kind's JSON text, made once: a journal sees a handful of kinds. */
const kindTexts = new Map<string, string>();

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
  #segments: Segment[] = [];
  #fd: number | undefined;
  /** Last record written to the file (readable); records still in #pending have higher seqs. */
  #lastSeq = 0;
  #nextSeq = 1;
  #pending: Pending[] = [];
  /**
   * The frames of #pending, encoded in place (no buffer per record, no copy to join them): the next write
   * sends bytes 0..#staged, then the buffer is reused.
   */
  #stage = Buffer.allocUnsafe(STAGE_BYTES);
  #staged = 0;
  /** The size of the frame #stage encoded last. */
  #lastBytes = 0;
  #unsynced: Pending[] = [];
  #syncing = false;
  #timer: NodeJS.Timeout | undefined;
  #listeners = new Set<(record: JournalRecord) => void>();
  #readFds = new Map<string, number>();
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
    this.#open(onRecovery);
    if (fsync === 'interval') {
      this.#timer = setInterval(() => this.#sync(), intervalMs);
      this.#timer.unref();
    }
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get firstSeq(): number {
    return this.#segments[0]?.firstSeq ?? 1;
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
    const segment = this.#segments.at(-1);
    // A segment may end up one append over segmentBytes: rotating before the seqs are taken keeps seqs
    // dense even when the flush of the old segment fails.
    if (!segment || segment.size + this.#staged >= this.#segmentBytes) {
      try {
        this.#flushWrites();
        this.#startSegment(this.#nextSeq);
      } catch (error) {
        return new Error(`journal ${this.dir}: cannot start a new segment: ${(error as Error).message}`);
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
    return new Error(
      `journal ${this.dir}: cannot append a ${kind} record: its data is not JSON (${(error as Error).message})`,
    );
  }

  /** Takes the next seq and encodes the record into the write buffer. */
  #take(kind: string, data: unknown, body: string | undefined): JournalRecord {
    const record: JournalRecord = { seq: this.#nextSeq++, ts: nowNs().toString(), kind, data };
    this.#lastBytes = this.#stageRecord(record, body);
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

  /**
   * Encodes the record's frame at the end of the write buffer; returns its size. The payload is the text
   * JSON.stringify(record) gives (keys in the order seq, ts, kind, data; data left out when it has no JSON
   * form), written in parts so the data's text is not copied into a joined string first.
   */
  #stageRecord(record: JournalRecord, body: string | undefined): number {
    let kindText = kindTexts.get(record.kind);
    if (kindText === undefined) {
      kindText = JSON.stringify(record.kind);
      if (kindTexts.size < 256) kindTexts.set(record.kind, kindText);
    }
    const head = `{"seq":${record.seq},"ts":"${record.ts}","kind":${kindText}${body === undefined ? '}' : ',"data":'}`;
    const max =
      FRAME_HEADER +
      3 * head.length +
      (body === undefined ? 0 : body.length <= MEASURE_FROM ? 3 * body.length : Buffer.byteLength(body)) +
      1;
    if (this.#stage.length - this.#staged < max) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.#stage.length, this.#staged + max));
      this.#stage.copy(grown, 0, 0, this.#staged);
      this.#stage = grown;
    }
    const stage = this.#stage;
    const start = this.#staged;
    let at = start + FRAME_HEADER;
    at += stage.write(head, at);
    if (body !== undefined) {
      at += stage.write(body, at);
      stage[at++] = 0x7d; // }
    }
    sealFrame(stage, start, at);
    this.#staged = at;
    return at - start;
  }

  #flushWrites = (): void => {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    const staged = this.#staged;
    this.#pending = [];
    this.#staged = 0;
    const segment = this.#segments.at(-1)!;
    try {
      writeAll(this.#fd!, this.#stage, staged);
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
          `journal ${segment.path}: cannot append${code === 'ENOSPC' ? ': the disk is full' : ''}: ${(error as Error).message}`,
        ),
        { code },
      );
      for (const p of batch) p.reject?.(failure);
      return;
    } finally {
      if (this.#stage.length > STAGE_KEEP) this.#stage = Buffer.allocUnsafe(STAGE_BYTES);
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
    const out: JournalRecord[] = [];
    let seq = Math.max(fromSeq, this.firstSeq);
    while (out.length < limit && seq <= this.#lastSeq) {
      const segment = this.#segmentOf(seq);
      if (!segment) break;
      const at = locate(segment.runs, segment.offsets.length, seq);
      if ('next' in at) {
        // A gap left by corrupt records: go on at the next seq this segment or a later one holds.
        const next = at.next ?? this.#segments[this.#segments.indexOf(segment) + 1]?.firstSeq;
        if (next === undefined || next <= seq) break;
        seq = next;
        continue;
      }
      out.push(this.#readAt(segment, at.index));
      seq++;
    }
    return out;
  }

  /**
   * As read(), each record as the JSON text the journal holds for it (the text JSON.stringify(record) gives),
   * for a reader that passes records on as they are (the central link's outbox): no parse and no second
   * stringify, and one read of the disk per run of consecutive records in a segment. Stops before passing
   * `maxBytes` of text, after at least one record.
   */
  readTexts(fromSeq: number, limit: number, maxBytes = Number.MAX_SAFE_INTEGER): { seq: number; text: string }[] {
    const out: { seq: number; text: string }[] = [];
    let bytes = 0;
    let seq = Math.max(fromSeq, this.firstSeq);
    while (out.length < limit && seq <= this.#lastSeq && bytes < maxBytes) {
      const segment = this.#segmentOf(seq);
      if (!segment) break;
      const at = locate(segment.runs, segment.offsets.length, seq);
      if ('next' in at) {
        const next = at.next ?? this.#segments[this.#segments.indexOf(segment) + 1]?.firstSeq;
        if (next === undefined || next <= seq) break;
        seq = next;
        continue;
      }
      const first = at.index;
      const start = segment.offsets[first]!;
      const endOf = (index: number) =>
        index + 1 < segment.offsets.length ? segment.offsets[index + 1]! : segment.size;
      // The run of records from here that this segment holds in a row, within limit and maxBytes (text only:
      // frame headers are not part of it); the first record of all is taken whatever its size.
      let count = 0;
      let end = start;
      while (out.length + count < limit && seq + count <= this.#lastSeq) {
        if (count > 0) {
          const nextAt = locate(segment.runs, segment.offsets.length, seq + count);
          if ('next' in nextAt || nextAt.index !== first + count) break;
        }
        const nextEnd = endOf(first + count);
        const text = bytes + nextEnd - start - FRAME_HEADER * (count + 1);
        if (text > maxBytes && out.length + count > 0) break;
        end = nextEnd;
        count++;
      }
      if (count === 0) break;
      const buf = Buffer.allocUnsafe(end - start);
      readSync(this.#readFd(segment), buf, 0, buf.length, start);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const frame = decodeFrame(buf, offset);
        if (!frame.ok)
          throw new Error(
            `${segment.path}: record at byte ${start + offset} is ${frame.reason} (was it changed on disk?)`,
          );
        out.push({ seq: seq + i, text: frame.payload.toString('utf8') });
        bytes += frame.payload.length;
        offset = frame.next;
      }
      seq += count;
    }
    return out;
  }

  /** Bytes on disk over every segment. */
  get sizeBytes(): number {
    return this.#segments.reduce((n, seg) => n + seg.size, 0);
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
    const dropped = { segments: 0, bytes: 0, records: 0 };
    while (this.#segments.length > 1) {
      const seg = this.#segments[0]!;
      const lastSeq = lastSeqOf(seg.runs, seg.offsets.length) ?? seg.firstSeq - 1;
      if (lastSeq >= keepFrom) break;
      const lastTs = seg.offsets.length > 0 ? BigInt(this.#readAt(seg, seg.offsets.length - 1).ts) : 0n;
      if (!shouldDrop({ firstSeq: seg.firstSeq, lastSeq, sizeBytes: seg.size, lastTs })) break;
      const fd = this.#readFds.get(seg.path);
      if (fd !== undefined) {
        closeSync(fd);
        this.#readFds.delete(seg.path);
      }
      rmSync(seg.path, { force: true });
      // Damaged bytes recovery moved aside from this segment go with it: they are bounded by retention too.
      for (const aside of readdirSync(this.dir))
        if (aside.startsWith(`${basename(seg.path)}.corrupt-`)) rmSync(join(this.dir, aside), { force: true });
      this.#segments.shift();
      dropped.segments++;
      dropped.bytes += seg.size;
      dropped.records += seg.offsets.length;
    }
    return dropped;
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
    for (const fd of this.#readFds.values()) closeSync(fd);
    this.#readFds.clear();
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
    this.#staged = 0;
    const firstSeq = batch[0]!.record.seq;
    const segment = this.#segments.at(-1)!;
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

  #open(onRecovery: (message: string) => void): void {
    const files = readdirSync(this.dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .sort();
    let lostAtEnd = 0;
    for (const [i, file] of files.entries()) {
      const path = join(this.dir, file);
      const buf = readFileSync(path);
      const firstSeq = Number(file.slice(0, 20));
      const scan = scanSegment(buf, firstSeq, this.#lastSeq + 1);
      const after = Math.max(this.#lastSeq, firstSeq - 1);
      const recovered = recoverSegment(path, buf, scan, i === files.length - 1, after, onRecovery);
      this.#segments.push({ firstSeq, path, offsets: recovered.offsets, runs: recovered.runs, size: recovered.size });
      this.#lastSeq = lastSeqOf(recovered.runs, recovered.offsets.length) ?? this.#lastSeq;
      lostAtEnd = recovered.lostAtEnd;
    }
    // Seqs of records lost at the very end are not given out again: a reader may have taken them already.
    const last = this.#segments.at(-1);
    this.#nextSeq = Math.max(this.#lastSeq + 1 + lostAtEnd, last?.firstSeq ?? 1);
    if (last) {
      this.#fd = openSync(last.path, 'a');
      last.size = fstatSync(this.#fd).size;
    }
  }

  #startSegment(firstSeq: number): void {
    if (this.#fd !== undefined) {
      // The pending fsync will run on the new segment's fd, so make the old one durable now (rotation is rare).
      fdatasyncSync(this.#fd);
      closeSync(this.#fd);
    }
    const path = join(this.dir, `${String(firstSeq).padStart(20, '0')}.log`);
    this.#fd = openSync(path, 'a');
    this.#segments.push({ firstSeq, path, offsets: [], runs: [], size: 0 });
  }

  #segmentOf(seq: number): Segment | undefined {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#segments[mid]!.firstSeq <= seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return this.#segments[hi];
  }

  #readFd(segment: Segment): number {
    let fd = this.#readFds.get(segment.path);
    if (fd === undefined) {
      fd = openSync(segment.path, 'r');
      this.#readFds.set(segment.path, fd);
    }
    return fd;
  }

  #readAt(segment: Segment, index: number): JournalRecord {
    const fd = this.#readFd(segment);
    const start = segment.offsets[index]!;
    const end = index + 1 < segment.offsets.length ? segment.offsets[index + 1]! : segment.size;
    const buf = Buffer.allocUnsafe(end - start);
    readSync(fd, buf, 0, buf.length, start);
    const frame = decodeFrame(buf, 0);
    if (!frame.ok)
      throw new Error(`${segment.path}: record at byte ${start} is ${frame.reason} (was it changed on disk?)`);
    return JSON.parse(frame.payload.toString('utf8')) as JournalRecord;
  }
}

function writeAll(fd: number, bytes: Buffer, length: number): void {
  let written = 0;
  while (written < length) written += writeSync(fd, bytes, written, length - written);
}
