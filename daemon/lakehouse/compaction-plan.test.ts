import { describe, expect, it } from 'vitest';
import { FANOUT, level, planMerges, type PlanUnit } from './compaction-plan.ts';

/** Units of one member each (splits), `bytes` each, all eligible; named by index. */
const splits = (n: number, bytes = 1) =>
  Array.from({ length: n }, (_, i) => ({ name: i, members: 1, bytes, eligible: true }));
const names = (merges: { name: number }[][]) => merges.map((m) => m.map((u) => u.name));
const MB = 1e6;

describe('planMerges', () => {
  it('levels: FANOUT splits make a group, FANOUT such groups a bigger one; fewer wait', () => {
    expect(FANOUT).toBe(6);
    expect([1, 5, 6, 35, 36, 215, 216].map(level)).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(planMerges(splits(5), 100 * MB)).toEqual([]);
    expect(names(planMerges(splits(6), 100 * MB))).toEqual([[0, 1, 2, 3, 4, 5]]);
    // 40 splits at once (a backlog): 36 become one group straight away (no group is written twice), 4 wait.
    expect(names(planMerges(splits(40), 100 * MB))).toEqual([Array.from({ length: 36 }, (_, i) => i)]);
    // A pass later: five groups of 6 and 5 new splits; a sixth group of 6 makes them one of 36.
    const later = [
      ...Array.from({ length: 5 }, (_, i) => ({ name: 100 + i, members: 6, bytes: 6, eligible: true })),
      ...splits(6),
    ];
    expect(names(planMerges(later, 100 * MB))).toEqual([[100, 101, 102, 103, 104, 0, 1, 2, 3, 4, 5]]);
  });

  it('never merges across a unit that may not be merged (too young, synced, sealed), and never past the cap', () => {
    const units: (PlanUnit & { name: number })[] = splits(13);
    units[6]!.eligible = false;
    expect(names(planMerges(units, 100 * MB))).toEqual([
      [0, 1, 2, 3, 4, 5],
      [7, 8, 9, 10, 11, 12],
    ]);
    // Splits of 30 MB, a cap of 100 MB: 6 would pass it, so the oldest 3 that fit make a group (90 MB, past
    // half the cap: sealed, never merged again); the other 3 wait for more.
    expect(names(planMerges(splits(6, 30 * MB), 100 * MB))).toEqual([[0, 1, 2]]);
    expect(names(planMerges(splits(12, 30 * MB), 100 * MB))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    // A unit past half the cap is never merged, nor are units across it.
    const big = [
      ...splits(3),
      { name: 50, members: 1, bytes: 60 * MB, eligible: true },
      ...splits(3).map((u) => ({ ...u, name: u.name + 10 })),
    ];
    expect(planMerges(big, 100 * MB)).toEqual([]);
    for (const m of planMerges(splits(500, 7 * MB), 100 * MB))
      expect(m.reduce((n, u) => n + u.bytes, 0)).toBeLessThanOrEqual(100 * MB);
  });

  it('bounds the files left: over months of splits, what is not sealed stays under FANOUT - 1 units per level', () => {
    // A pass per new split (the worst case for a tiered plan), 0.5 MB splits, a 256 MB cap.
    let units: { members: number; bytes: number; eligible: boolean }[] = [];
    let written = 0;
    for (let i = 0; i < 4320; i++) {
      units.push({ members: 1, bytes: 0.5 * MB, eligible: true });
      for (const m of planMerges(units, 256 * MB)) {
        const merged = {
          members: m.reduce((n, u) => n + u.members, 0),
          bytes: m.reduce((n, u) => n + u.bytes, 0),
          eligible: true,
        };
        written += merged.bytes;
        units = [...units.slice(0, units.indexOf(m[0]!)), merged, ...units.slice(units.indexOf(m.at(-1)!) + 1)];
      }
    }
    const open = units.filter((u) => u.bytes <= 128 * MB);
    expect(units.length).toBeLessThan(30); // 4320 splits: a month at 600 s
    expect(open.length).toBeLessThanOrEqual(4 * (FANOUT - 1));
    expect(written / (4320 * 0.5 * MB)).toBeLessThan(4); // each byte rewritten once per level, at most
  });
});
