import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Budget, type Priority } from '../../central-link/sync/budget.ts';

// The budget's clock and timers are faked (not Date: the windows get their own wall clock here), so a minute
// of sending runs in milliseconds and the bytes granted can be counted exactly.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const KiB = 1024;
const now = () => performance.now();

/** A sender that takes `chunk` bytes at a time for as long as the test runs; returns the bytes granted. */
function sender(budget: Budget, priority: Priority, chunk: number, stop: AbortSignal): { granted: number } {
  const s = { granted: 0 };
  void (async () => {
    for (;;) {
      try {
        await budget.take(chunk, priority, stop);
      } catch {
        return; // stopped
      }
      s.granted += chunk;
    }
  })();
  return s;
}

describe('the upload budget', () => {
  for (const rate of [1_000_000, 10_000_000]) {
    it(`grants ${rate / 1e6} MB/s over 60 s to within one burst (100 ms or one chunk)`, async () => {
      const budget = new Budget({ bytesPerS: rate, now });
      const stop = new AbortController();
      const s = sender(budget, 'bulk', 64 * KiB, stop.signal);
      await vi.advanceTimersByTimeAsync(60_000);
      stop.abort();
      const burst = Math.max(rate / 10, 64 * KiB);
      expect(s.granted).toBeGreaterThanOrEqual(rate * 60 - 64 * KiB);
      expect(s.granted).toBeLessThanOrEqual(rate * 60 + burst + 64 * KiB);
      expect(budget.stats().sent.bulk).toBe(s.granted);
    });
  }

  it('serves events before bulk, and counts control without making it wait', async () => {
    const budget = new Budget({ bytesPerS: 100 * KiB, now });
    const stop = new AbortController();
    const bulk = sender(budget, 'bulk', 10 * KiB, stop.signal);
    const events = sender(budget, 'events', 10 * KiB, stop.signal);
    await vi.advanceTimersByTimeAsync(10_000);
    // While events always wait, bulk gets nothing beyond the first burst.
    expect(bulk.granted).toBeLessThanOrEqual(100 * KiB);
    expect(events.granted).toBeGreaterThanOrEqual(900 * KiB);
    let controlDone = false;
    void budget.take(1_000_000, 'control').then(() => (controlDone = true));
    await Promise.resolve();
    expect(controlDone).toBe(true);
    const before = events.granted;
    // Control's megabyte is paid back by the others: ~10 s at 100 KiB/s.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events.granted).toBe(before);
    stop.abort();
    expect(budget.stats().sent.control).toBe(1_000_000);
  });

  it('pauses and resumes bulk, and follows a new rate', async () => {
    const budget = new Budget({ bytesPerS: 100 * KiB, now });
    const stop = new AbortController();
    const bulk = sender(budget, 'bulk', 10 * KiB, stop.signal);
    budget.pauseBulk('paused from central');
    await vi.advanceTimersByTimeAsync(1);
    const atPause = bulk.granted;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(bulk.granted).toBe(atPause);
    expect(budget.bulkPaused).toBe('paused from central');
    expect(budget.stats().waiting.bulk).toBe(1);
    budget.resumeBulk();
    budget.setRate(1000 * KiB);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(bulk.granted - atPause).toBeGreaterThanOrEqual(10_000 * KiB - 10 * KiB);
    expect(bulk.granted - atPause).toBeLessThanOrEqual(10_000 * KiB + 100 * KiB + 10 * KiB);
    stop.abort();
    await vi.advanceTimersByTimeAsync(1);
    expect(budget.stats().waiting.bulk).toBe(0);
  });

  it('sends bulk only inside its time windows, at the window rate; events go on outside', async () => {
    let wall = new Date(2026, 0, 1, 21, 59, 0).getTime();
    const budget = new Budget({
      bytesPerS: 100 * KiB,
      windows: [{ start: '22:00', end: '06:00', bytes_per_s: 200 * KiB }],
      now,
      wallNow: () => wall,
    });
    const stop = new AbortController();
    const bulk = sender(budget, 'bulk', 10 * KiB, stop.signal);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(bulk.granted).toBe(0);
    expect(budget.bulkPaused).toBe('outside upload windows');
    let event = false;
    void budget.take(10 * KiB, 'events').then(() => (event = true));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(event).toBe(true);
    wall = new Date(2026, 0, 1, 23, 30, 0).getTime(); // inside the window, which crosses midnight
    await vi.advanceTimersByTimeAsync(40_000); // the budget looks again within 30 s
    expect(budget.stats().bytes_per_s).toBe(200 * KiB);
    expect(bulk.granted).toBeGreaterThan(200 * KiB);
    stop.abort();
  });

  it('refuses a window that is not HH:MM, naming it', () => {
    expect(() => new Budget({ bytesPerS: 1, windows: [{ start: '25:00', end: '06:00' }] })).toThrow(/25:00/);
  });
});
