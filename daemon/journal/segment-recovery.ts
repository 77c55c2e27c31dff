import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { type Damage, lastSeqOf, recordStarts, type SegmentScan, type SeqRun } from './segment-scan.ts';
import { errorText } from '../util/index.ts';

export interface RecoveredSegment {
  offsets: number[];
  runs: SeqRun[];
  size: number;
  /**
   * Record starts seen in a damaged stretch at the end, which was moved aside: their seqs are not given
   * out again (a reader may already have taken them), so the next append skips this many.
   */
  lostAtEnd: number;
}

/**
 * Makes a scanned segment hold whole records only, losing no byte that might matter: a torn tail of the
 * last segment (a write that never finished, never acknowledged) is cut; any other damaged stretch is first
 * copied to `<segment>.corrupt-<offset>` (synced), then taken out of the segment (rewritten through a
 * synced `.recovering` file and a rename, so a crash leaves the old or the new file, never half of one).
 * The records after damage keep their seqs: the lost records leave a gap. Each step is reported.
 * `afterSeq` is the last seq before this segment.
 */
export function recoverSegment(
  path: string,
  buf: Buffer,
  scan: SegmentScan,
  last: boolean,
  afterSeq: number,
  report: (message: string) => void,
): RecoveredSegment {
  const { offsets, runs, damaged, tail } = scan;
  const cutOnly = tail !== undefined && scan.torn && last;
  const aside = cutOnly || tail === undefined ? damaged : [...damaged, tail];
  const result: RecoveredSegment = { offsets, runs, size: buf.length, lostAtEnd: 0 };
  const names = new Map<Damage, string>();
  if (aside.length > 0) {
    try {
      for (const d of aside) {
        const name = freeName(`${path}.corrupt-${d.offset}`);
        writeSynced(name, buf.subarray(d.offset, d.offset + d.length));
        names.set(d, basename(name));
      }
      syncDir(dirname(path));
    } catch (error) {
      // Nothing is taken out then: readers skip the damage in place, and the next start tries again.
      for (const d of aside)
        report(`${path}: ${describe(d)} skipped and left in place: cannot copy it aside (${errorText(error)})`);
      if (cutOnly) cut(path, tail, result, report);
      return result;
    }
  }
  for (const d of damaged)
    report(`${path}: ${describe(d)} moved to ${names.get(d)}; ${lostBetween(scan, d, afterSeq)}`);
  if (tail !== undefined) {
    if (cutOnly) cut(path, tail, result, report);
    else {
      result.lostAtEnd = recordStarts(buf, tail.offset, buf.length);
      const before = lastSeqOf(runs, offsets.length) ?? afterSeq;
      report(
        `${path}: ${describe(tail)} to the end moved to ${names.get(tail)}; records from ${before + 1} on lost (${result.lostAtEnd} record start(s) seen in it)`,
      );
      result.size = tail.offset;
    }
  }
  if (damaged.length === 0) {
    if (tail !== undefined && !cutOnly) truncate(path, tail.offset);
    return result;
  }
  // Take the damaged stretches out: the whole records between them, in order, shifted down.
  const kept: Buffer[] = [];
  const shifted: number[] = [];
  let from = 0;
  let removed = 0;
  let i = 0;
  for (const d of damaged) {
    kept.push(buf.subarray(from, d.offset));
    for (; i < offsets.length && offsets[i]! < d.offset; i++) shifted.push(offsets[i]! - removed);
    removed += d.length;
    from = d.offset + d.length;
  }
  kept.push(buf.subarray(from, result.size));
  for (; i < offsets.length; i++) shifted.push(offsets[i]! - removed);
  const temp = `${path}.recovering`;
  writeSynced(temp, Buffer.concat(kept));
  renameSync(temp, path);
  syncDir(dirname(path));
  result.offsets = shifted;
  result.size -= removed;
  return result;
}

/** An earlier recovery's file is never overwritten: the same offset may have held other bytes then. */
function freeName(name: string): string {
  let free = name;
  for (let n = 1; existsSync(free); n++) free = `${name}.${n}`;
  return free;
}

function describe(d: Damage): string {
  return `corrupt record at byte ${d.offset} (${d.length} bytes, ${d.reason === 'crc' ? 'CRC mismatch' : 'length past the end'})`;
}

/** Which seqs a damaged stretch held, from the whole records either side of it, and what was kept after. */
function lostBetween(scan: SegmentScan, d: Damage, afterSeq: number): string {
  const end = d.offset + d.length;
  const next = scan.runs.find((run) => scan.offsets[run.index] === end);
  const previous = scan.runs.filter((run) => scan.offsets[run.index]! < d.offset).at(-1);
  const nextRunIndex = next === undefined ? scan.offsets.length : next.index;
  const before = previous === undefined ? afterSeq : previous.seq + (nextRunIndex - 1 - previous.index);
  const keptAfter = scan.offsets.filter((o) => o >= end).length;
  const lost =
    next === undefined || next.seq <= before + 1
      ? 'no seq lost'
      : next.seq - 1 === before + 1
        ? `record ${before + 1} lost`
        : `records ${before + 1}..${next.seq - 1} lost`;
  return `${lost}; ${keptAfter} record(s) after it kept`;
}

function cut(path: string, tail: Damage, result: RecoveredSegment, report: (message: string) => void): void {
  report(`${path}: torn record at byte ${tail.offset} (${tail.length} bytes, a write that never finished) cut off`);
  truncate(path, tail.offset);
  result.size = tail.offset;
}

function truncate(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeSynced(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
