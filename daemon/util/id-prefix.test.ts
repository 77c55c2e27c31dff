import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';
import { findByPrefix, prefixProblem, shortId, shortIds } from './id-prefix.ts';
import { seededRandom } from './seeded-random.ts';
// @ts-expect-error the status page's plain ES module has no types
import { shortIds as pageShortIds } from '../api/page/run-ids.js';

/** A UUIDv7-shaped id made at `ms` with counter `counter`, random tail from `random`. */
function idAt(ms: number, counter: number, random: () => number): string {
  const hex = (n: number, digits: number) => Math.floor(n).toString(16).padStart(digits, '0');
  const time = hex(ms, 12);
  const tail = Array.from({ length: 12 }, () => hex(random() * 16, 1)).join('');
  const variant = `${hex(8 + random() * 4, 1)}${hex(random() * 4096, 3)}`;
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(counter, 3)}-${variant}-${tail}`;
}

describe("a run id's short form", () => {
  it('is the 13 characters of its ms when no other run was made in the same ms', () => {
    const ids = [newId(), newId()];
    const a = '0190aaaa-0001-7000-8000-000000000001';
    const b = '0190aaaa-0002-7000-8000-000000000002';
    expect(shortIds([a, b])).toEqual(
      new Map([
        [a, '0190aaaa-0001'],
        [b, '0190aaaa-0002'],
      ]),
    );
    expect(shortId(a)).toBe('0190aaaa-0001');
    // Made by the daemon's own newId, a short form is always a prefix that names the one id.
    for (const [id, short] of shortIds(ids)) expect(findByPrefix(ids, short)).toEqual({ id });
  });

  it('grows past the ms for runs made in the same ms, just enough to tell them apart', () => {
    const a = '0190aaaa-0001-7000-8000-000000000001';
    const b = '0190aaaa-0001-7001-8000-000000000002';
    const c = '0190aaaa-0001-7001-9000-000000000002';
    const short = shortIds([a, b, c]);
    expect(short.get(a)).toBe('0190aaaa-0001-7000');
    expect(short.get(b)).toBe('0190aaaa-0001-7001-8');
    expect(short.get(c)).toBe('0190aaaa-0001-7001-9');
    // Among fewer runs it is shorter: each list computes it among the runs it knows.
    expect(shortId(b, [a])).toBe('0190aaaa-0001-7001');
  });

  it("is computed the same by the status page's copy (daemon/api/page/run-ids.js)", () => {
    const random = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      // Few distinct ms and counters: collisions at every length are common.
      const ids = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        idAt(1_700_000_000_000 + Math.floor(random() * 3), Math.floor(random() * 3), random),
      );
      expect(pageShortIds(ids) as Map<string, string>).toEqual(shortIds(ids));
      for (const [id, short] of shortIds(ids)) expect(findByPrefix(ids, short)).toEqual({ id });
    }
  });
});

describe('a run named by a prefix', () => {
  const a = '0190aaaa-0001-7000-8000-000000000001';
  const b = '0190aaaa-0002-7000-8000-000000000002';

  it('finds the one run a prefix starts, whatever its case, and a whole id as it is', () => {
    expect(findByPrefix([a, b], '0190AAAA-0002')).toEqual({ id: b });
    expect(findByPrefix([a, b], a)).toEqual({ id: a });
  });

  it('names every run a prefix of several matches, and says when none does', () => {
    const several = findByPrefix([a, b], '0190aaaa');
    expect(several).toEqual({ matches: [a, b] });
    expect(prefixProblem('0190aaaa', [a, b])).toBe(`prefix 0190aaaa matches 2 runs: ${a}, ${b}; give more of the id`);
    expect(findByPrefix([a, b], 'ffff')).toEqual({ matches: [] });
    expect(prefixProblem('ffff', [])).toBe('no run ffff');
  });
});
