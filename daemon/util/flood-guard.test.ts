import { describe, expect, it } from 'vitest';
import { FloodGuard } from './flood-guard.ts';

describe('FloodGuard', () => {
  it('demotes once on the hit past the rate in a second, and not for a rate at the limit', () => {
    const guard = new FloodGuard(50, 5000);
    for (let i = 0; i < 50; i++) expect(guard.hit(i)).toBe(false);
    expect(guard.hit(999)).toBe(true);
    expect(guard.demoted).toBe(true);
    for (let i = 0; i < 100; i++) expect(guard.hit(1000 + i)).toBe(false); // demoted already
    expect(guard.demotions).toBe(1);
    const steady = new FloodGuard(50, 5000);
    // 50 a second for ten seconds: at the limit, never over
    for (let s = 0; s < 10; s++) for (let i = 0; i < 50; i++) expect(steady.hit(s * 1000 + i * 20)).toBe(false);
    expect(steady.demotions).toBe(0);
  });

  it('promotes after the quiet time since the last second over the rate, and not while the flood goes on', () => {
    const guard = new FloodGuard(10, 5000);
    for (let i = 0; i <= 10; i++) guard.hit(i);
    expect(guard.demoted).toBe(true);
    // The flood goes on for 20 s: never quiet.
    for (let t = 1000; t < 21_000; t += 1000) {
      for (let i = 0; i <= 10; i++) guard.hit(t + i);
      expect(guard.quiet(t + 500)).toBe(false);
    }
    const last = 20_010;
    expect(guard.quiet(last + 4999)).toBe(false);
    expect(guard.quiet(last + 5000)).toBe(true);
    expect(guard.demoted).toBe(false);
    expect(guard.quiet(last + 6000)).toBe(false); // promoted once
    // A second flood demotes again.
    for (let i = 0; i <= 10; i++) guard.hit(40_000 + i);
    expect(guard.demotions).toBe(2);
  });
});
