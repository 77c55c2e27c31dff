import { describe, expect, it } from 'vitest';
import { Backoff, exponentialBackoff } from './backoff.ts';

describe('exponentialBackoff', () => {
  it('doubles from the first wait up to the cap, exactly without jitter', () => {
    const waits = [0, 1, 2, 3, 4, 5].map((n) => exponentialBackoff(n, { firstMs: 250, maxMs: 5000 }));
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 5000]);
  });

  it('stays at the cap however long the streak (no Infinity, no NaN for a first wait of 0)', () => {
    expect(exponentialBackoff(5000, { firstMs: 1, maxMs: 60_000 })).toBe(60_000);
    expect(exponentialBackoff(5000, { firstMs: 0, maxMs: 60_000 })).toBe(0);
  });

  it('takes up to the jitter share off a wait, by the draw', () => {
    const options = { firstMs: 1000, maxMs: 1000, jitter: 0.5 };
    expect(exponentialBackoff(0, { ...options, random: () => 0 })).toBe(500);
    expect(exponentialBackoff(0, { ...options, random: () => 0.5 })).toBe(750);
    expect(exponentialBackoff(0, { ...options, random: () => 0.999 })).toBeCloseTo(999.5);
  });

  it('draws from Math.random by default', () => {
    for (let i = 0; i < 100; i++) {
      const wait = exponentialBackoff(2, { firstMs: 100, maxMs: 1000, jitter: 0.25 });
      expect(wait).toBeGreaterThanOrEqual(300);
      expect(wait).toBeLessThan(400);
    }
  });
});

describe('Backoff', () => {
  it('waits longer per failure in a row, and from the first wait again after a reset', () => {
    const backoff = new Backoff({ firstMs: 100, maxMs: 350 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 350, 350]);
    expect(backoff.failures).toBe(4);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it('waits the cap from the first failure when the cap is under the first wait', () => {
    expect(new Backoff({ firstMs: 10, maxMs: 5 }).next()).toBe(5);
  });

  it('refuses options that make no backoff', () => {
    expect(() => new Backoff({ firstMs: -1, maxMs: 5 })).toThrow(/firstMs/);
    expect(() => new Backoff({ firstMs: 1, maxMs: 5, jitter: 2 })).toThrow(/jitter/);
  });
});
