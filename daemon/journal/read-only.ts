import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Journal, JournalRecord } from '../contract/services.ts';
import { decodeFrame } from './frame.ts';

/**
 * Reads a journal directory (`<data_dir>/log`) without opening it for writing, so `runs show` works
 * beside a running daemon or with none. A torn tail (a record being written, or left by kill -9) ends
 * the read; nothing is changed on disk.
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
    let offset = 0;
    while (offset < buf.length) {
      const frame = decodeFrame(buf, offset);
      if (!frame.ok) {
        notes.push(`${file}: ${frame.reason} record at byte ${offset}; read stopped there`);
        break;
      }
      records.push(JSON.parse(frame.payload.toString('utf8')) as JournalRecord);
      offset = frame.next;
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
      // seq is dense from the first record's, so it indexes the array, unless a corrupt record left a gap.
      let start = Math.max(0, fromSeq - (records[0]?.seq ?? 1));
      if (records[start] !== undefined && records[start]!.seq !== fromSeq) start = records.findIndex((r) => r.seq >= fromSeq);
      return start < 0 ? [] : records.slice(start, start + limit);
    },
    subscribe: () => () => {},
  };
}
