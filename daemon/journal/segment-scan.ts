import { decodeFrame, FRAME_HEADER } from './frame.ts';

/** Where a stretch of consecutive seqs starts: the index of its first record in the segment, and its seq. */
export interface SeqRun {
  index: number;
  seq: number;
}

/** Bytes of a segment that hold no whole record. */
export interface Damage {
  offset: number;
  length: number;
  /** `truncated`: a frame runs past the end of the file; `crc`: its bytes do not match its CRC. */
  reason: 'truncated' | 'crc';
}

export interface SegmentScan {
  /** Byte offset of each whole record, in file order. */
  offsets: number[];
  /** Seqs are consecutive within a run; a new run starts after damage. Empty when no record is whole. */
  runs: SeqRun[];
  /** Damaged stretches with whole records after them: corruption (bit rot), never a torn write. */
  damaged: Damage[];
  /** A damaged stretch running to the end of the file, with no whole record after it. */
  tail: Damage | undefined;
  /** True when `tail` is an unfinished write: a frame cut off by the end of the file, and nothing after it. */
  torn: boolean;
}

/** Every record the journal writes starts with this text (JSON.stringify of a record puts `seq` first). */
const RECORD_START = Buffer.from('{"seq":');

/**
 * Finds every whole record of a segment file. A frame that does not check is skipped up to the next frame
 * that does (its length fits, its CRC matches, its payload is a record with a seq of at least `minSeq`), so
 * one bad record never hides the ones after it. `firstSeq` (the file's name) is the first record's seq
 * when that record does not say.
 */
export function scanSegment(buf: Buffer, firstSeq: number, minSeq: number): SegmentScan {
  const scan: SegmentScan = { offsets: [], runs: [], damaged: [], tail: undefined, torn: false };
  let offset = 0;
  let expected = Math.max(firstSeq, minSeq);
  let inRun = false;
  while (offset < buf.length) {
    const frame = decodeFrame(buf, offset);
    if (frame.ok) {
      if (!inRun) {
        const seq = seqOf(frame.payload) ?? expected;
        scan.runs.push({ index: scan.offsets.length, seq });
        expected = seq;
        inRun = true;
      }
      scan.offsets.push(offset);
      expected++;
      offset = frame.next;
      continue;
    }
    const next = findFrame(buf, offset + 1, expected);
    if (next === undefined) {
      scan.tail = { offset, length: buf.length - offset, reason: frame.reason };
      // Only a frame cut off by the end of the file, with nothing like a record after it, is a write that
      // never finished; a whole frame that fails its CRC may be an acknowledged record gone bad.
      scan.torn = frame.reason === 'truncated' && findFrame(buf, offset + 1, 0) === undefined;
      break;
    }
    scan.damaged.push({ offset, length: next - offset, reason: frame.reason });
    offset = next;
    inRun = false;
  }
  return scan;
}

/** The offset of the first whole record at or after `from` whose seq is at least `minSeq`. */
export function findFrame(buf: Buffer, from: number, minSeq: number): number | undefined {
  for (let at = buf.indexOf(RECORD_START, from + FRAME_HEADER); at !== -1; at = buf.indexOf(RECORD_START, at + 1)) {
    const frame = decodeFrame(buf, at - FRAME_HEADER);
    if (!frame.ok) continue;
    const seq = seqOf(frame.payload);
    if (seq !== undefined && seq >= minSeq) return at - FRAME_HEADER;
  }
  return undefined;
}

/** How many record starts a stretch holds: at least as many as the records lost in it, if none was hit there. */
export function recordStarts(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let at = buf.indexOf(RECORD_START, from); at !== -1 && at < to; at = buf.indexOf(RECORD_START, at + 1)) n++;
  return n;
}

/** The seq a record payload starts with, read without parsing the rest. */
export function seqOf(payload: Buffer): number | undefined {
  if (
    payload.length < RECORD_START.length + 2 ||
    payload.compare(RECORD_START, 0, RECORD_START.length, 0, RECORD_START.length) !== 0
  )
    return undefined;
  let seq = 0;
  let i = RECORD_START.length;
  for (; i < payload.length && i < RECORD_START.length + 16; i++) {
    const c = payload[i]!;
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
  }
  return i > RECORD_START.length && payload[i] === 0x2c ? seq : undefined;
}

/** The seq of a segment's last whole record, or undefined when it has none. */
export function lastSeqOf(runs: readonly SeqRun[], count: number): number | undefined {
  const run = runs.at(-1);
  return run === undefined ? undefined : run.seq + count - 1 - run.index;
}

/**
 * Where `seq` is among a segment's `count` records: its index and the end of its run (the records from index
 * up to runEnd have the seqs that follow), or, when no record has it (lost to damage, or before the segment's
 * first), the next seq the segment holds (undefined: none after it).
 */
export function locate(
  runs: readonly SeqRun[],
  count: number,
  seq: number,
): { index: number; runEnd: number } | { next: number | undefined } {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid - 1;
  }
  if (hi < 0) return { next: runs[0]?.seq };
  const run = runs[hi]!;
  const index = run.index + seq - run.seq;
  const end = runs[hi + 1]?.index ?? count;
  return index < end ? { index, runEnd: end } : { next: runs[hi + 1]?.seq };
}
