import { describe, expect, it } from 'vitest';
import { addRange, eventsProblem, seqRuns, uncovered } from '../../central/events-payload.ts';
import { eventsPayload } from './fixtures.ts';

describe('central serve: an events payload', () => {
  it("is refused when a record's ts is past what the lake keeps (a signed 64-bit ns), which would fail every robot's commit", () => {
    const payload = JSON.parse(eventsPayload('r1', 'j1', 1, 3)) as { records: { ts: string }[] };
    expect(eventsProblem(payload, 'lab', 'r1')).toBeUndefined();
    payload.records[1]!.ts = String(2n ** 63n - 1n);
    expect(eventsProblem(payload, 'lab', 'r1')).toBeUndefined();
    payload.records[1]!.ts = String(2n ** 63n);
    expect(eventsProblem(payload, 'lab', 'r1')).toBe('record seq 2: ts 9223372036854775808 is past 2^63-1 ns');
  });

  it('keeps, of its runs of seqs, only what the cursor does not cover', () => {
    expect(seqRuns([{ seq: 1 }, { seq: 2 }, { seq: 3 }, { seq: 7 }, { seq: 8 }, { seq: 10 }])).toEqual([
      [1, 3],
      [7, 8],
      [10, 10],
    ]);
    const cursor = addRange(addRange([], 1, 5), 8, 9);
    expect(uncovered(cursor, 1, 12)).toEqual([
      [6, 7],
      [10, 12],
    ]);
    expect(uncovered(cursor, 2, 4)).toEqual([]);
    expect(uncovered(cursor, 6, 6)).toEqual([[6, 6]]);
    expect(uncovered([], 3, 4)).toEqual([[3, 4]]);
    expect(uncovered(cursor, 9, 9)).toEqual([]);
  });
});
