import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { monotonicMs } from './loop-clock.ts';
import { LoopState } from './loop-state.ts';
import { TickSchedule } from './tick-schedule.ts';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('TickSchedule', () => {
  it('wakes each tick at or after its time, however long the wait, and reads the clock once', () => {
    for (const periodMs of [0.5, 1.7, 5, 23.4]) {
      const state = new LoopState(0);
      const schedule = new TickSchedule(state, periodMs);
      const begun = performance.now();
      schedule.begin();
      for (let tick = 1; tick <= 3; tick++) {
        const asleep = monotonicMs();
        expect(schedule.awaitTick()).toBe(true);
        const woke = performance.now();
        expect(woke).toBeGreaterThanOrEqual(begun + tick * periodMs);
        // The tick's clock is a reading taken on waking.
        expect(schedule.now[0]).toBeGreaterThan(asleep);
        expect(schedule.now[0]).toBeLessThanOrEqual(monotonicMs());
        schedule.finish();
      }
      expect(state.snapshot().ticks).toBe(3);
    }
  });

  it('counts a late tick as missed, and the ticks it can no longer be on time for as skipped and missed', () => {
    // Periods of 100 ms, so that a loaded machine waking a tick up to 240 ms late still sets up the same case.
    const state = new LoopState(0);
    const schedule = new TickSchedule(state, 100);
    const begun = performance.now();
    schedule.begin();
    expect(schedule.awaitTick()).toBe(true);
    schedule.finish();
    expect(state.snapshot()).toMatchObject({ ticks: 1, skipped: 0 });
    const missed = state.snapshot().missedDeadlines; // 0, but on a loaded machine the first may be late
    expect(schedule.awaitTick()).toBe(true);
    // Until 440 ms from the start, however late this tick woke: past the next tick's start (300) by over a period
    // (400), so that one is missed and the one after skipped, and short of the one after that (500).
    busy(begun + 440 - performance.now());
    schedule.finish();
    expect(state.snapshot()).toMatchObject({ ticks: 2, missedDeadlines: missed + 2, skipped: 1 });
    expect(schedule.awaitTick()).toBe(true);
    expect(performance.now()).toBeGreaterThanOrEqual(begun + 400); // the fifth period's tick: not before its time
  });

  it('returns false on a stop requested before its wait, or by another thread during it', async () => {
    const before = new LoopState(0);
    const first = new TickSchedule(before, 60_000);
    first.begin();
    before.requestClose();
    expect(first.awaitTick()).toBe(false);

    // A minute's wait, woken by a stop from another thread (as the main thread stops a loop thread).
    const state = new LoopState(0);
    const schedule = new TickSchedule(state, 60_000);
    schedule.begin();
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const control = new Int32Array(workerData, 0, 4);
       setTimeout(() => { Atomics.store(control, 0, 1); Atomics.notify(control, 0); }, 200);`,
      { eval: true, workerData: state.buffer },
    );
    const asleep = performance.now();
    expect(schedule.awaitTick()).toBe(false);
    expect(performance.now() - asleep).toBeLessThan(60_000); // woken by the stop, not the minute's end
    await worker.terminate();
  });
});
