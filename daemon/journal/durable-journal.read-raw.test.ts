import { openSync, readdirSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { DurableJournal } from './durable-journal.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

async function journalWith(records: number): Promise<DurableJournal> {
  const dir = tempDir('journal-texts-');
  cleanups.push(() => dir.cleanup());
  // Small segments: reads cross from one segment file to the next.
  const journal = new DurableJournal({ dir: join(dir.path, 'log'), fsync: 'never', segmentBytes: 4096 });
  cleanups.push(() => journal.close());
  for (let i = 0; i < records; i++) await journal.append('agent_event', { i, text: 'é'.repeat(i % 7), n: [i, -i] });
  return journal;
}

/** The records from `from` as { seq, text }: their bytes decoded. */
function texts(journal: DurableJournal, from: number, limit: number, maxBytes?: number) {
  return journal.readRaw(from, limit, maxBytes).map((r) => ({ seq: r.seq, text: r.bytes.toString('utf8') }));
}

describe('DurableJournal.readRaw', () => {
  it('gives each record as the bytes of the text JSON.stringify gives, across segments, from any seq and for any limit', async () => {
    const journal = await journalWith(300);
    for (const [from, limit] of [
      [1, 1000],
      [1, 7],
      [37, 50],
      [299, 10],
      [301, 5],
    ] as const) {
      expect(texts(journal, from, limit)).toEqual(
        journal.read(from, limit).map((r) => ({ seq: r.seq, text: JSON.stringify(r) })),
      );
    }
    expect(journal.readRaw(1, 1000)).toHaveLength(300);
  });

  it('stops before maxBytes of JSON, after one record at least', async () => {
    const journal = await journalWith(50);
    const all = journal.readRaw(1, 50);
    const size = (n: number) => all.slice(0, n).reduce((sum, r) => sum + r.bytes.length, 0);
    const capped = texts(journal, 1, 50, size(10));
    expect(capped.map((r) => r.seq)).toEqual(all.slice(0, 10).map((r) => r.seq));
    expect(journal.readRaw(1, 50, size(10) - 1)).toHaveLength(9);
    expect(journal.readRaw(5, 50, 1).map((r) => r.seq)).toEqual([5]);
  });

  it('still checks each record: one changed on disk after the journal opened is refused, as read() refuses it', async () => {
    const journal = await journalWith(40);
    const segment = readdirSync(journal.dir).filter((f) => f.endsWith('.log'))[0]!;
    const path = join(journal.dir, segment);
    // Flip one byte inside the third record's JSON (past two frames of this segment and the 8-byte header).
    const before = journal.readRaw(1, 3).map((r) => r.bytes.length + 8);
    const at = before[0]! + before[1]! + 8 + 5;
    const fd = openSync(path, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x01;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);
    expect(journal.readRaw(1, 2)).toHaveLength(2);
    expect(() => journal.readRaw(1, 10)).toThrow(/record at byte \d+ is crc \(was it changed on disk\?\)/);
    expect(() => journal.readRaw(3, 1)).toThrow(/is crc/);
    expect(() => journal.read(3, 1)).toThrow(/is crc/);
  });
});
