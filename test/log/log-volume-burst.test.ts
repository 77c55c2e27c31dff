import { describe, expect, it } from 'vitest';
import { LogBurst, withSuppressed } from '../../daemon/util/log-burst.ts';

// LogBurst on a clock the test steps: what the daemon's throttled log lines are made of.

describe('LogBurst', () => {
  it('passes the first at once, then one per interval with the count held back, per key', () => {
    let now = 0;
    const burst = new LogBurst({ intervalMs: 60_000, now: () => now });
    expect(burst.take('a')).toBe(0);
    expect(Array.from({ length: 1000 }, () => burst.take('a')).every((held) => held === undefined)).toBe(true);
    expect(burst.take('b')).toBe(0); // another problem is not held back by the first
    now = 59_999;
    expect(burst.take('a')).toBeUndefined();
    now = 60_000;
    expect(burst.take('a')).toBe(1001);
    expect(burst.take('a')).toBeUndefined();
    expect(burst.flush('a')).toBe(1);
    expect(burst.take('a')).toBe(0); // forgotten: starts afresh
  });

  it('passes a burst per window; `count` holds back several occurrences at once', () => {
    let now = 0;
    const burst = new LogBurst({ intervalMs: 1000, burst: 2, now: () => now });
    expect([burst.take('k'), burst.take('k'), burst.take('k', 5), burst.take('k')]).toEqual([
      0,
      0,
      undefined,
      undefined,
    ]);
    now = 1000;
    expect(burst.take('k')).toBe(6);
  });

  it('says which keys are due a summary once their window ended with something held back, and only once', () => {
    let now = 0;
    const burst = new LogBurst({ intervalMs: 1000, now: () => now });
    burst.take('quiet');
    burst.take('busy');
    burst.take('busy');
    burst.take('busy');
    expect(burst.due()).toEqual([]);
    now = 1000;
    expect(burst.due()).toEqual([['busy', 2]]);
    expect(burst.due()).toEqual([]);
    // The summary filled the new window: the next occurrence waits for it to end.
    expect(burst.take('busy')).toBeUndefined();
    now = 2000;
    expect(burst.take('busy')).toBe(1);
  });

  it('refills the burst in each new window: the first line carries the count, the rest of the burst pass', () => {
    let now = 0;
    const burst = new LogBurst({ intervalMs: 1000, burst: 3, now: () => now });
    expect(Array.from({ length: 5 }, () => burst.take('k'))).toEqual([0, 0, 0, undefined, undefined]);
    now = 1000;
    expect(Array.from({ length: 4 }, () => burst.take('k'))).toEqual([2, 0, 0, undefined]);
  });

  it('keys objects by identity (a client each), and holds none once each is flushed', () => {
    let now = 0;
    const burst = new LogBurst<object>({ intervalMs: 10_000, now: () => now });
    const clients = Array.from({ length: 100 }, () => ({}));
    for (const client of clients) expect([burst.take(client), burst.take(client)]).toEqual([0, undefined]);
    expect(burst.size).toBe(100);
    now = 10_000;
    expect(burst.take(clients[0])).toBe(1); // its own count, not the others'
    expect(clients.map((client) => burst.flush(client))).toEqual([0, ...Array(99).fill(1)]);
    expect(burst.size).toBe(0);
    expect(burst.flush({})).toBe(0); // one never seen: nothing held
    expect(burst.take(clients[1])).toBe(0); // forgotten: starts afresh
  });

  it('refuses an interval below 0 and a burst that is not a whole number from 1', () => {
    expect(() => new LogBurst({ intervalMs: -1 })).toThrow(/intervalMs must be >= 0, got -1/);
    expect(() => new LogBurst({ burst: 0 })).toThrow(/burst must be an integer >= 1, got 0/);
    expect(() => new LogBurst({ burst: 1.5 })).toThrow(/burst must be an integer >= 1, got 1.5/);
  });

  it('adds suppressed to a line only when something was held back', () => {
    expect(withSuppressed({ topic: '/x' }, 0)).toEqual({ topic: '/x' });
    expect(withSuppressed({ topic: '/x' }, 3)).toEqual({ topic: '/x', suppressed: 3 });
  });
});
