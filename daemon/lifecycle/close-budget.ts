import { unlessAborted } from '../util/index.ts';

/**
 * Least time each component gets to stop, also once stop's budget is spent: one that hangs must not take
 * the recorder's chance to close its bag, or the lakehouse's to flush.
 */
export const CLOSE_FLOOR_MS = 100;

/** What untilStop gives when the stop came first. */
export const CLOSED = Symbol('stopped');

/**
 * The supervisor's waits, bounded once a stop begins: each then ends by the stop's deadline (the earliest of the
 * budgets given), so a component that never settles cannot hold the daemon.
 */
export class CloseBudget {
  /** An event target, not a promise: a waiter removes its listener when done, so the waits of a component that
   * keeps failing and retrying do not pile up until stop. */
  #requested = new AbortController();
  /** When the budget of the first stop runs out, ms on performance.now()'s clock. */
  #deadline = Infinity;

  /** A stop begins with `budgetMs`: every wait in flight or to come ends by then. Returns this stop's deadline. */
  begin(budgetMs: number): number {
    const deadline = performance.now() + budgetMs;
    this.#deadline = Math.min(this.#deadline, deadline);
    this.#requested.abort();
    return deadline;
  }

  /**
   * Waits for `promise` at most `ms`, and once a stop began at most what is left of its budget, but never less
   * than `floorMs` (what a component's stop is owed, see STOP_FLOOR_MS). A rejection passes through.
   */
  async within(promise: Promise<unknown>, ms: number, floorMs = 0): Promise<'done' | 'timeout'> {
    const timers: NodeJS.Timeout[] = [];
    const signal = this.#requested.signal;
    let onStop = (): void => undefined;
    const timeUp = new Promise<'timeout'>((resolve) => {
      if (Number.isFinite(ms)) timers.push(setTimeout(() => resolve('timeout'), ms));
      onStop = () =>
        void timers.push(setTimeout(() => resolve('timeout'), Math.max(this.#deadline - performance.now(), floorMs)));
      if (signal.aborted) onStop();
      else signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      return await Promise.race([promise.then(() => 'done' as const), timeUp]);
    } finally {
      signal.removeEventListener('abort', onStop);
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /** `promise`'s outcome, or STOPPED as soon as a stop begins, whichever comes first. */
  async untilClosed<T>(promise: Promise<T>): Promise<T | typeof CLOSED> {
    const signal = this.#requested.signal;
    if (signal.aborted) return CLOSED;
    try {
      return await unlessAborted(promise, signal);
    } catch (error) {
      if (error === signal.reason) return CLOSED;
      throw error;
    }
  }
}
