import { describe, expect, it } from 'vitest';
import { Throttle } from './throttle.ts';

describe('Throttle', () => {
  it('passes the first at once, then one per interval carrying the count held back, per key', () => {
    let now = 0;
    const throttle = new Throttle({ intervalMs: 10_000, now: () => now });
    const a = {};
    const b = {};
    expect(throttle.take(a)).toBe(0);
    expect([throttle.take(a), throttle.take(a), throttle.take(a)]).toEqual([undefined, undefined, undefined]);
    expect(throttle.take(b)).toBe(0);
    now = 9_999;
    expect(throttle.take(a)).toBeUndefined();
    now = 10_000;
    expect(throttle.take(a)).toBe(4);
    expect(throttle.take(a)).toBeUndefined();
    expect(throttle.flush(a)).toBe(1);
    expect(throttle.take(a)).toBe(0); // forgotten: a new client starts afresh
    expect(throttle.flush(b)).toBe(0);
  });

  it('passes a burst per interval, then holds back until the next interval', () => {
    let now = 0;
    const throttle = new Throttle({ intervalMs: 1000, burst: 3, now: () => now });
    const key = {};
    expect(Array.from({ length: 5 }, () => throttle.take(key))).toEqual([0, 0, 0, undefined, undefined]);
    now = 1000;
    expect(Array.from({ length: 4 }, () => throttle.take(key))).toEqual([2, 0, 0, undefined]);
  });
});
