import { describe, expect, it } from 'vitest';
import type { Journal, JournalRecord } from '../contract/services.ts';
import { appendMany } from './append-many.ts';

/** A journal with `append` alone, as a third-party or test journal may be. */
function plainJournal(): Journal & { calls: string[] } {
  const records: JournalRecord[] = [];
  const calls: string[] = [];
  return {
    calls,
    get lastSeq() {
      return records.length;
    },
    async append(kind, data) {
      calls.push(`append ${kind}`);
      const record = { seq: records.length + 1, ts: '0', kind, data };
      records.push(record);
      return record;
    },
    read: (from, limit) => records.slice(from - 1, from - 1 + limit),
    subscribe: () => () => undefined,
  };
}

describe('appendMany', () => {
  it("uses the journal's own appendMany where it has one", async () => {
    const journal = plainJournal();
    const batched: string[] = [];
    journal.appendMany = async (entries) => {
      batched.push(entries.map((e) => e.kind).join(','));
      return entries.map((e, i) => ({ seq: i + 1, ts: '0', kind: e.kind, data: e.data }));
    };
    await appendMany(journal, [
      { kind: 'a', data: 1 },
      { kind: 'b', data: 2 },
    ]);
    expect(batched).toEqual(['a,b']);
    expect(journal.calls).toEqual([]);
  });

  it('falls back to one append each, in order, for a journal without it', async () => {
    const journal = plainJournal();
    const records = await appendMany(journal, [
      { kind: 'a', data: 1 },
      { kind: 'b', data: 2 },
    ]);
    expect(journal.calls).toEqual(['append a', 'append b']);
    expect(records.map((r) => [r.seq, r.kind])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });
});
