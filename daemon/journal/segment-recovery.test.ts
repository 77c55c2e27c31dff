import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { DurableJournal } from './durable-journal.ts';
import { decodeFrame, encodeFrame, MAX_RECORD_BYTES } from './frame.ts';
import { readJournalDir } from './read-only.ts';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

/** A closed journal of `n` records `{ i }` (seqs 1..n) in one segment, and each record's byte range. */
async function journalOf(n: number): Promise<{ dir: string; file: string; frames: { offset: number; end: number }[] }> {
  const t = tempDir('journal-damage-');
  cleanups.push(t.cleanup);
  const j = new DurableJournal({ dir: t.path, fsync: 'never' });
  for (let i = 1; i <= n; i++) await j.append('agent_event', { i, text: `record ${i}` });
  await j.close();
  const file = join(t.path, readdirSync(t.path)[0]!);
  const buf = readFileSync(file);
  const frames: { offset: number; end: number }[] = [];
  for (let offset = 0; offset < buf.length;) {
    const frame = decodeFrame(buf, offset);
    if (!frame.ok) throw new Error('the journal wrote a bad frame');
    frames.push({ offset, end: frame.next });
    offset = frame.next;
  }
  return { dir: t.path, file, frames };
}

function flipBit(file: string, at: number, mask = 0x01): Buffer {
  const bytes = readFileSync(file);
  const before = Buffer.from(bytes);
  bytes[at]! ^= mask;
  writeFileSync(file, bytes);
  return before;
}

function reopen(dir: string): { journal: DurableJournal; messages: string[] } {
  const messages: string[] = [];
  return { journal: new DurableJournal({ dir, onRecovery: (m) => messages.push(m) }), messages };
}

const seqsOf = (j: DurableJournal) => j.read(1, 1000).map((r) => r.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const quarantined = (dir: string) => readdirSync(dir).filter((f) => f.includes('.corrupt-'));

describe('a damaged journal at open', () => {
  it('keeps every record after a flipped bit in the first record, and moves the bad bytes aside', async () => {
    const { dir, file, frames } = await journalOf(10);
    const original = flipBit(file, frames[0]!.offset + 20);
    const { journal, messages } = reopen(dir);
    expect(seqsOf(journal)).toEqual(range(2, 10));
    expect(journal.read(2, 1)[0]!.data).toEqual({ i: 2, text: 'record 2' });
    expect(messages).toEqual([
      expect.stringMatching(
        /00000000000000000001\.log: corrupt record at byte 0 \(\d+ bytes, CRC mismatch\) moved to 00000000000000000001\.log\.corrupt-0; record 1 lost; 9 record\(s\) after it kept/,
      ),
    ]);
    // The quarantine file holds exactly the damaged bytes; the segment lost nothing else.
    expect(quarantined(dir)).toEqual(['00000000000000000001.log.corrupt-0']);
    const aside = readFileSync(join(dir, '00000000000000000001.log.corrupt-0'));
    expect(aside.length).toBe(frames[0]!.end);
    expect(aside.equals(flipBitOf(original.subarray(0, frames[0]!.end), 20))).toBe(true);
    expect(readFileSync(file).equals(original.subarray(frames[0]!.end))).toBe(true);
    // The lost seq stays a gap: the next record takes the next new seq.
    expect((await journal.append('agent_event', { i: 'new' })).seq).toBe(11);
    await journal.close();
    const again = reopen(dir);
    expect(seqsOf(again.journal)).toEqual(range(2, 11));
    expect(again.messages).toEqual([]); // recovered once, for good
    await again.journal.close();
  });

  it('keeps every record after a flipped bit in a middle record, readers included', async () => {
    const { dir, file, frames } = await journalOf(10);
    flipBit(file, frames[4]!.offset + 30, 0x40);
    // Before any daemon opens it, a read-only reader (runs show) skips the damage and reads on.
    const before = readJournalDir(dir);
    expect(before.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    expect(before.notes).toEqual([
      expect.stringMatching(
        /00000000000000000001\.log: \d+ bytes of corrupt record\(s\) at byte \d+ skipped; read on from byte \d+/,
      ),
    ]);
    const { journal, messages } = reopen(dir);
    expect(seqsOf(journal)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    expect(journal.read(5, 2).map((r) => r.seq)).toEqual([6, 7]); // a read from the lost seq goes on after it
    // The outbox's raw read skips the same gap, within one call and from the lost seq.
    expect(journal.readRaw(3, 4).map((r) => r.seq)).toEqual([3, 4, 6, 7]);
    expect(journal.readRaw(5, 2).map((r) => r.seq)).toEqual([6, 7]);
    expect(messages[0]).toMatch(
      new RegExp(
        `corrupt record at byte ${frames[4]!.offset} .* moved to 00000000000000000001\\.log\\.corrupt-${frames[4]!.offset}; record 5 lost; 5 record\\(s\\) after it kept`,
      ),
    );
    expect(readFileSync(join(dir, `00000000000000000001.log.corrupt-${frames[4]!.offset}`)).length).toBe(
      frames[4]!.end - frames[4]!.offset,
    );
    await journal.close();
    expect(readJournalDir(dir)).toEqual({ records: expect.any(Array), notes: [] });
    expect(readJournalDir(dir).records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
  });

  it('keeps every other record after a flipped bit in a length field', async () => {
    for (const [which, mask] of [
      [0, 0x10], // the first record claims more bytes than it has
      [3, 0x01], // a middle record claims one byte more
      [6, 0x80], // the high byte: a length past the end of the file
    ] as const) {
      const { dir, file, frames } = await journalOf(8);
      flipBit(file, frames[which]!.offset + (which === 6 ? 3 : 0), mask);
      const { journal, messages } = reopen(dir);
      const kept = range(1, 8).filter((seq) => seq !== which + 1);
      expect(seqsOf(journal)).toEqual(kept);
      expect(messages).toHaveLength(1);
      expect(quarantined(dir)).toEqual([`00000000000000000001.log.corrupt-${frames[which]!.offset}`]);
      await journal.close();
      expect(readJournalDir(dir).records.map((r) => r.seq)).toEqual(kept);
    }
  });

  it('still cuts a torn tail, keeping nothing of it', async () => {
    const { dir, file, frames } = await journalOf(5);
    truncateSync(file, frames[4]!.end - 3);
    expect(readJournalDir(dir).notes).toEqual([
      expect.stringMatching(/torn record .* at byte \d+; nothing whole after it/),
    ]);
    const { journal, messages } = reopen(dir);
    expect(seqsOf(journal)).toEqual([1, 2, 3, 4]);
    expect(messages).toEqual([
      `${file}: torn record at byte ${frames[4]!.offset} (${frames[4]!.end - 3 - frames[4]!.offset} bytes, a write that never finished) cut off`,
    ]);
    expect(statSync(file).size).toBe(frames[4]!.offset);
    expect(quarantined(dir)).toEqual([]);
    expect((await journal.append('agent_event', { i: 'new' })).seq).toBe(5);
    await journal.close();
  });

  it('moves a corrupt last record aside rather than cutting it, and does not give its seq out again', async () => {
    const { dir, file, frames } = await journalOf(5);
    flipBit(file, frames[4]!.end - 5);
    const { journal, messages } = reopen(dir);
    expect(seqsOf(journal)).toEqual([1, 2, 3, 4]);
    expect(messages[0]).toMatch(
      /corrupt record at byte \d+ \(\d+ bytes, CRC mismatch\) to the end moved to 00000000000000000001\.log\.corrupt-\d+; records from 5 on lost \(1 record start\(s\) seen in it\)/,
    );
    expect(quarantined(dir)).toHaveLength(1);
    expect((await journal.append('agent_event', { i: 'new' })).seq).toBe(6);
    expect(seqsOf(journal)).toEqual([1, 2, 3, 4, 6]);
    await journal.close();
  });

  it('keeps records after damage in an older segment, and reads across the gap', async () => {
    const t = tempDir('journal-damage-');
    cleanups.push(t.cleanup);
    const j = new DurableJournal({ dir: t.path, fsync: 'never', segmentBytes: 512 });
    for (let i = 1; i <= 40; i++) await j.append('agent_event', { i, pad: 'p'.repeat(40) });
    await j.close();
    const files = readdirSync(t.path).sort();
    expect(files.length).toBeGreaterThan(3);
    // Damage the middle of the second segment.
    const second = join(t.path, files[1]!);
    flipBit(second, Math.floor(statSync(second).size / 2));
    const { journal, messages } = reopen(t.path);
    const seqs = seqsOf(journal);
    expect(messages).toHaveLength(1);
    expect(seqs.length).toBe(39);
    expect(seqs.at(-1)).toBe(40);
    expect(journal.readRaw(1, 1000).map((r) => r.seq)).toEqual(seqs);
    await journal.close();
  });

  it('never overwrites an earlier quarantine file', async () => {
    const { dir, file, frames } = await journalOf(6);
    flipBit(file, frames[0]!.offset + 20);
    const first = reopen(dir);
    await first.journal.close();
    flipBit(file, 20); // the old second record is now at byte 0
    const second = reopen(dir);
    expect(seqsOf(second.journal)).toEqual([3, 4, 5, 6]);
    expect(quarantined(dir).sort()).toEqual([
      '00000000000000000001.log.corrupt-0',
      '00000000000000000001.log.corrupt-0.1',
    ]);
    await second.journal.close();
  });
});

describe('record size', () => {
  it('refuses a record over the limit, naming its size and the limit, uses up no seq, and loses nothing at restart', async () => {
    const t = tempDir('journal-size-');
    cleanups.push(t.cleanup);
    const j = new DurableJournal({ dir: t.path });
    await j.append('agent_event', { i: 1 });
    const huge = { text: 'x'.repeat(MAX_RECORD_BYTES) };
    await expect(j.append('agent_event', huge)).rejects.toThrow(
      new RegExp(
        `cannot append a agent_event record of 1677\\d{4} bytes: over the journal's limit of 16777216 bytes \\(16 MiB\\) a record; nothing was appended`,
      ),
    );
    await expect(
      j.appendMany([
        { kind: 'agent_event', data: { i: 'with' } },
        { kind: 'agent_event', data: huge },
      ]),
    ).rejects.toThrow(/over the journal's limit of 16777216 bytes/);
    expect((await j.append('agent_event', { i: 2 })).seq).toBe(2);
    // Just under the limit is taken.
    const under = await j.append('agent_event', { text: 'y'.repeat(MAX_RECORD_BYTES - 200) });
    await j.append('agent_event', { i: 'after' });
    await j.close();
    const { journal, messages } = reopen(t.path);
    expect(messages).toEqual([]);
    expect(seqsOf(journal)).toEqual([1, 2, under.seq, under.seq + 1]);
    await journal.close();
  });

  it('reads a well-framed record over the limit (an older journal wrote it) and everything after it', async () => {
    const { dir, file } = await journalOf(3);
    const big = { seq: 4, ts: '1', kind: 'agent_event', data: { text: 'z'.repeat(MAX_RECORD_BYTES + 1000) } };
    appendFileSync(file, encodeFrame(Buffer.from(JSON.stringify(big))));
    appendFileSync(
      file,
      encodeFrame(Buffer.from(JSON.stringify({ seq: 5, ts: '2', kind: 'agent_event', data: { i: 5 } }))),
    );
    expect(readJournalDir(dir).records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(readJournalDir(dir).notes).toEqual([]);
    const { journal, messages } = reopen(dir);
    expect(messages).toEqual([]);
    expect(seqsOf(journal)).toEqual([1, 2, 3, 4, 5]);
    expect((journal.read(4, 1)[0]!.data as { text: string }).text.length).toBe(MAX_RECORD_BYTES + 1000);
    await journal.close();
  });
});

function flipBitOf(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
}
