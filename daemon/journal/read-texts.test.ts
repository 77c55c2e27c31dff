import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
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

describe('DurableJournal.readTexts', () => {
  it('gives each record as the text JSON.stringify gives, across segments, from any seq and for any limit', async () => {
    const journal = await journalWith(300);
    for (const [from, limit] of [
      [1, 1000],
      [1, 7],
      [37, 50],
      [299, 10],
      [301, 5],
    ] as const) {
      const texts = journal.readTexts(from, limit);
      expect(texts).toEqual(journal.read(from, limit).map((r) => ({ seq: r.seq, text: JSON.stringify(r) })));
    }
    expect(journal.readTexts(1, 1000)).toHaveLength(300);
  });

  it('stops before maxBytes of text, after one record at least', async () => {
    const journal = await journalWith(50);
    const all = journal.readTexts(1, 50);
    const size = (n: number) => all.slice(0, n).reduce((sum, r) => sum + Buffer.byteLength(r.text), 0);
    const capped = journal.readTexts(1, 50, size(10));
    expect(capped.map((r) => r.seq)).toEqual(all.slice(0, 10).map((r) => r.seq));
    expect(journal.readTexts(1, 50, size(10) - 1)).toHaveLength(9);
    expect(journal.readTexts(5, 50, 1).map((r) => r.seq)).toEqual([5]);
  });
});
