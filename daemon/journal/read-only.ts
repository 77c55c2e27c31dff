import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal, JournalRecord } from '../contract/index.ts';
import { decodeFrame } from './frame.ts';
import { scanSegment } from './segment-scan.ts';

/**
 * Reads a journal directory (`<data_dir>/log`) without opening it for writing, so `runs show` works
 * beside a running daemon or with none. Damaged records are skipped and every whole record after them is
 * read; a torn tail (a record being written, or left by kill -9) ends its segment's read. Each is noted;
 * nothing is changed on disk.
 */
export function readJournalDir(dir: string): { records: JournalRecord[]; notes: string[] } {
  const records: JournalRecord[] = [];
  const notes: string[] = [];
  if (!existsSync(dir)) return { records, notes: [`no journal at ${dir}: has a daemon run with this data dir?`] };
  const files = readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  for (const file of files) {
    const buf = readFileSync(join(dir, file));
    const scan = scanSegment(buf, Number(file.slice(0, 20)), (records.at(-1)?.seq ?? 0) + 1);
    for (const d of scan.damaged)
      notes.push(
        `${file}: ${d.length} bytes of corrupt record(s) at byte ${d.offset} skipped; read on from byte ${d.offset + d.length}`,
      );
    if (scan.tail) {
      const what = scan.torn
        ? 'torn record (a write in progress, or one a crash cut off)'
        : `${scan.tail.length} bytes of corrupt record(s)`;
      notes.push(`${file}: ${what} at byte ${scan.tail.offset}; nothing whole after it in this segment`);
    }
    for (const offset of scan.offsets) {
      const frame = decodeFrame(buf, offset);
      if (frame.ok) records.push(JSON.parse(frame.payload.toString('utf8')) as JournalRecord);
    }
  }
  return { records, notes };
}

/** Records as a read-only Journal, for RunStore.rebuild. */
export function recordsJournal(records: readonly JournalRecord[]): Journal {
  return {
    get lastSeq() {
      return records.at(-1)?.seq ?? 0;
    },
    append: () => Promise.reject(new Error('read-only journal')),
    read: (fromSeq, limit) => {
      // seq is dense from the first record's, so it indexes the array, unless corrupt records left a gap:
      // then the record is before that index (which may be past the end), so search.
      let start = Math.max(0, fromSeq - (records[0]?.seq ?? 1));
      if (records[start]?.seq !== fromSeq) start = records.findIndex((r) => r.seq >= fromSeq);
      return start < 0 ? [] : records.slice(start, start + limit);
    },
    subscribe: () => () => {},
  };
}
