import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it("allows a second's worth at once, then the rate, and never banks more than the burst", () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerS: 4, now: () => now });
    const take = (n: number) => Array.from({ length: n }, () => bucket.take());
    expect(take(5)).toEqual([true, true, true, true, false]);
    now = 250;
    expect(take(2)).toEqual([true, false]);
    now = 60_000; // a long pause banks one burst, not 4 * 60
    expect(take(5)).toEqual([true, true, true, true, false]);
    now = 0; // a clock that steps back refills nothing and takes nothing away
    expect(take(1)).toEqual([false]);
    now = 250;
    expect(take(2)).toEqual([true, false]);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => new TokenBucket({ ratePerS: 0 })).toThrow(/ratePerS/);
  });
});
