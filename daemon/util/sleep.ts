/** The longest a Node timer waits: a longer delay fires after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SleepOptions {
  /** Ends the sleep early. */
  signal?: AbortSignal;
  /** The timer does not hold the process up. */
  unref?: boolean;
}

/**
 * Waits `ms`: true when the time passed, false as soon as `signal` aborts (at once when it already has). It never
 * rejects, so a loop that sleeps between tries ends on its abort with a plain `if`, not a catch. A delay past a
 * Node timer's limit (about 24.8 days) waits that limit.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<boolean> {
  const { signal, unref = false } = options;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    if (unref) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
