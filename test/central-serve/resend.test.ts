import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import type { Ranges } from '../../central/events-payload.ts';
import { firstGap, GapRecovery, resendSpan, type ResendMessage } from '../../central/resend.ts';

describe('firstGap: the first seqs up to acked_seq a cursor lacks', () => {
  it('finds a hole, a missing tail, a missing head, nothing when covered; at most max seqs', () => {
    expect(firstGap([[1, 100]], 100)).toBeUndefined();
    expect(firstGap([[1, 100]], 50)).toBeUndefined();
    expect(firstGap([[1, 100]], 0)).toBeUndefined();
    expect(firstGap([[1, 100]], 150)).toEqual([101, 150]); // tail
    expect(
      firstGap(
        [
          [1, 10],
          [21, 30],
        ],
        40,
      ),
    ).toEqual([11, 20]); // hole first
    expect(
      firstGap(
        [
          [1, 10],
          [21, 30],
        ],
        15,
      ),
    ).toEqual([11, 15]); // a hole cut at acked_seq
    expect(firstGap([[5, 10]], 10)).toEqual([1, 4]); // head
    expect(firstGap([], 7)).toEqual([1, 7]); // a journal never seen starts at 1
    expect(firstGap([], 25_000)).toEqual([1, 10_000]);
    expect(firstGap([[1, 10]], 100, 5)).toEqual([11, 15]);
    expect(
      firstGap(
        [
          [1, 10],
          [11, 20],
        ],
        20,
      ),
    ).toBeUndefined(); // adjacent ranges
  });
});

describe('resendSpan: one request from the first gap over the holes after it', () => {
  it('spans many holes up to the last one within max seqs; nothing when covered', () => {
    const everyOther: Ranges = [];
    for (let seq = 1; seq <= 99; seq += 2) everyOther.push([seq, seq]); // a killed process took the even seqs
    expect(resendSpan(everyOther, 99)).toEqual([2, 98]);
    expect(resendSpan(everyOther, 120)).toEqual([2, 120]); // and the missing tail
    expect(resendSpan(everyOther, 99, 10)).toEqual([2, 10]);
    expect(resendSpan(everyOther, 99, 9)).toEqual([2, 10]); // 2..10 are 9 seqs
    expect(
      resendSpan(
        [
          [1, 10],
          [20, 30],
        ],
        30,
      ),
    ).toEqual([11, 19]);
    expect(
      resendSpan(
        [
          [1, 10],
          [20, 30],
        ],
        15,
      ),
    ).toEqual([11, 15]);
    expect(resendSpan([[1, 30]], 30)).toBeUndefined();
    expect(resendSpan([], 25_000)).toEqual([1, 10_000]);
    expect(
      resendSpan(
        [
          [5, 10],
          [12, 20_000],
        ],
        30_000,
      ),
    ).toEqual([1, 11]);
  });
});

describe('GapRecovery', () => {
  it('trusts a heartbeat only once it is afterMs old, asks the first gap, not again within afterMs, not while busy', async () => {
    let now = 1_000_000;
    const cursors = new Map<string, Ranges>([['r1\u0000j1', [[1, 100]]]]);
    const sent: { robot: string; m: ResendMessage }[] = [];
    let busy = false;
    let reads = 0;
    const gaps = new GapRecovery({
      afterMs: 15_000,
      readCursors: async () => {
        reads++;
        return new Map(cursors);
      },
      publish: async (robot, m) => void sent.push({ robot, m }),
      busy: () => busy,
      log: silentLogger(),
      now: () => now,
    });
    gaps.heartbeat('r1', { outbox: { journal_id: 'j1', acked_seq: 150 } });
    gaps.heartbeat('r2', { outbox: { acked_seq: 9 } }); // no journal_id (an older robot): ignored
    gaps.heartbeat('r3', { outbox: { journal_id: 'j3', acked_seq: -1 } }); // garbage: ignored
    await gaps.check();
    expect(sent).toEqual([]); // too fresh: 101..150 may still be on the way
    now += 10_000;
    gaps.heartbeat('r1', { outbox: { journal_id: 'j1', acked_seq: 300 } });
    now += 5_000;
    await gaps.check();
    expect(sent.map((s) => [s.robot, s.m.journal_id, s.m.from_seq, s.m.to_seq])).toEqual([['r1', 'j1', 101, 150]]);
    expect(sent[0]!.m.schema).toBe('auraison.resend/1');
    expect(sent[0]!.m.ts).toBe(String(BigInt(now) * 1_000_000n));
    await gaps.check();
    expect(sent).toHaveLength(1); // the same range not again within afterMs
    now += 10_000; // the heartbeat saying 300 is trusted now
    await gaps.check();
    expect(sent.map((s) => [s.m.from_seq, s.m.to_seq])).toEqual([
      [101, 150],
      [101, 300],
    ]);
    busy = true; // commits failing: the cursor is behind, nothing asked
    now += 20_000;
    await gaps.check();
    expect(sent).toHaveLength(2);
    expect(gaps.counts).toEqual({ resends_asked: 2, seqs_asked: 250, skipped_busy: 1 });
    expect(gaps.robot('r1')).toEqual({ resends_asked: 2, seqs_asked: 250, last_asked: 'j1:101..300' });
    busy = false;
    cursors.set('r1\u0000j1', [[1, 300]]); // the robot answered
    const before = reads;
    await gaps.check();
    await gaps.check(); // covered once: the cursor is not read again for the same acked_seq
    expect(reads).toBe(before + 1);
    expect(sent).toHaveLength(2);
    // A new journal (the robot's cursor renewed): asked from 1.
    gaps.heartbeat('r1', { outbox: { journal_id: 'j2', acked_seq: 20 } });
    now += 15_000;
    await gaps.check();
    expect(sent.at(-1)!.m).toMatchObject({ journal_id: 'j2', from_seq: 1, to_seq: 20 });
  });
});
