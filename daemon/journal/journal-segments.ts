import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { JournalRecord } from '../contract/index.ts';
import { decodeFrame, FRAME_HEADER } from './frame.ts';
import { recoverSegment } from './segment-recovery.ts';
import { lastSeqOf, locate, scanSegment, type SeqRun } from './segment-scan.ts';

/** A journal record as the UTF-8 bytes of its JSON text. */
export interface RawRecord {
  seq: number;
  bytes: Buffer;
}

export interface Segment {
  firstSeq: number;
  path: string;
  /** Byte offset of each record, in seq order. */
  offsets: number[];
  /** Seqs are consecutive within a run; records lost to corruption leave a gap between runs. */
  runs: SeqRun[];
  size: number;
}

/**
 * A journal's segment files `<firstSeq>.log` and reads from them: where each record is (by seq, across the gaps
 * damage left), one read descriptor per segment, and pruning of whole closed segments. The writer (DurableJournal)
 * appends to the last segment and records each frame's offset here; the records it still stages are not here.
 */
export class JournalSegments {
  readonly dir: string;
  #segments: Segment[] = [];
  #readFds = new Map<string, number>();
  /** What readRaw reads into, reused from one call to the next. */
  #scratch = Buffer.allocUnsafeSlow(64 * 1024);

  constructor(dir: string) {
    this.dir = dir;
  }

  get firstSeq(): number {
    return this.#segments[0]?.firstSeq ?? 1;
  }

  /** The segment appended to. */
  get last(): Segment | undefined {
    return this.#segments.at(-1);
  }

  /** Bytes on disk over every segment. */
  get sizeBytes(): number {
    return this.#segments.reduce((n, seg) => n + seg.size, 0);
  }

  /** The file of the segment that starts at `firstSeq`. */
  pathOf(firstSeq: number): string {
    return join(this.dir, `${String(firstSeq).padStart(20, '0')}.log`);
  }

  /** A new, empty segment starting at `firstSeq`, once the writer has opened its file. */
  add(firstSeq: number): void {
    this.#segments.push({ firstSeq, path: this.pathOf(firstSeq), offsets: [], runs: [], size: 0 });
  }

  /**
   * Scans every segment, cutting a torn tail and moving other damage aside (see recoverSegment). Returns the
   * last seq found and the next seq to give out.
   */
  open(onRecovery: (message: string) => void): { lastSeq: number; nextSeq: number } {
    let lastSeq = 0;
    const files = readdirSync(this.dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .sort();
    let lostAtEnd = 0;
    for (const [i, file] of files.entries()) {
      const path = join(this.dir, file);
      const buf = readFileSync(path);
      const firstSeq = Number(file.slice(0, 20));
      const scan = scanSegment(buf, firstSeq, lastSeq + 1);
      const after = Math.max(lastSeq, firstSeq - 1);
      const recovered = recoverSegment(path, buf, scan, i === files.length - 1, after, onRecovery);
      this.#segments.push({ firstSeq, path, offsets: recovered.offsets, runs: recovered.runs, size: recovered.size });
      lastSeq = lastSeqOf(recovered.runs, recovered.offsets.length) ?? lastSeq;
      lostAtEnd = recovered.lostAtEnd;
    }
    // Seqs of records lost at the very end are not given out again: a reader may have taken them already.
    const last = this.#segments.at(-1);
    return { lastSeq, nextSeq: Math.max(lastSeq + 1 + lostAtEnd, last?.firstSeq ?? 1) };
  }

  /** Records from `fromSeq` up to `lastSeq` (the last one written), at most `limit`. */
  read(fromSeq: number, limit: number, lastSeq: number): JournalRecord[] {
    const out: JournalRecord[] = [];
    let seq = Math.max(fromSeq, this.firstSeq);
    while (out.length < limit && seq <= lastSeq) {
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
   * As read(), each record as the UTF-8 JSON bytes the journal holds for it (JSON.stringify(record)'s text),
   * for a reader that passes records on as they are (the central link's outbox): no decoding, no parse and no
   * second stringify, and one read of the disk per run of consecutive records in a segment. Each record's CRC
   * is still checked: a record changed on disk throws, as read() does. Stops before passing `maxBytes` of
   * JSON, after at least one record. The bytes are views of a buffer the next readRaw reuses (a drain reads
   * hundreds of megabytes, and a fresh buffer per read made the GC's work): copy what you keep.
   */
  readRaw(fromSeq: number, limit: number, lastSeq: number, maxBytes = Number.MAX_SAFE_INTEGER): RawRecord[] {
    const out: RawRecord[] = [];
    let used = 0;
    let bytes = 0;
    let seq = Math.max(fromSeq, this.firstSeq);
    while (out.length < limit && seq <= lastSeq && bytes < maxBytes) {
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
      // The run of records from here that this segment holds in a row, within limit and maxBytes (JSON only:
      // frame headers are not part of it); the first record of all is taken whatever its size.
      const most = Math.min(limit - out.length, lastSeq - seq + 1, at.runEnd - first);
      let count = 0;
      let end = start;
      while (count < most) {
        const nextEnd = endOf(first + count);
        const text = bytes + nextEnd - start - FRAME_HEADER * (count + 1);
        if (text > maxBytes && out.length + count > 0) break;
        end = nextEnd;
        count++;
      }
      if (count === 0) break;
      const buf = this.#scratchFor(used, end - start);
      used += buf.length;
      readSync(this.#readFd(segment), buf, 0, buf.length, start);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const frame = decodeFrame(buf, offset);
        if (!frame.ok)
          throw new Error(
            `${segment.path}: record at byte ${start + offset} is ${frame.reason} (was it changed on disk?)`,
          );
        out.push({ seq: seq + i, bytes: frame.payload });
        bytes += frame.payload.length;
        offset = frame.next;
      }
      seq += count;
    }
    return out;
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

  closeReaders(): void {
    for (const fd of this.#readFds.values()) closeSync(fd);
    this.#readFds.clear();
  }

  /**
   * `length` bytes of the scratch buffer from `used` on (what this readRaw took already); a new scratch when
   * it is too small and nothing of it is in use, else a buffer of its own (a read that crosses segments).
   */
  #scratchFor(used: number, length: number): Buffer {
    if (used + length <= this.#scratch.length) return this.#scratch.subarray(used, used + length);
    if (used > 0) return Buffer.allocUnsafeSlow(length);
    this.#scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * this.#scratch.length));
    return this.#scratch.subarray(0, length);
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
