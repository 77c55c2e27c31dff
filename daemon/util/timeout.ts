/** The error withTimeout rejects with when time is up; its message says what did not finish in time. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export interface TimeoutOptions {
  /** Ends the wait early: withTimeout rejects with the signal's reason, within gives `late`. */
  signal?: AbortSignal;
  /** The timer does not hold the process up: a wait that must not keep a stopping process alive. */
  unref?: boolean;
}

/**
 * `work`'s outcome, unless `ms` pass first: then rejects with a TimeoutError of `message` (or with what
 * `message()` returns) and aborts the signal `work` was given, in that order, so work that answers its abort at
 * once does not win. The timer is cleared as soon as either ends; what `work` still does after is its own.
 */
export async function withTimeout<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  message: string | (() => unknown),
  options: TimeoutOptions = {},
): Promise<T> {
  const { signal: outer, unref = false } = options;
  const timeUp = new AbortController();
  const signal = outer ? AbortSignal.any([outer, timeUp.signal]) : timeUp.signal;
  const timer = setTimeout(() => timeUp.abort(typeof message === 'string' ? new TimeoutError(message) : message()), ms);
  if (unref) timer.unref();
  try {
    return await unlessAborted(typeof work === 'function' ? () => work(signal) : work, signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`'s outcome, unless `signal` aborts first (or has): then rejects with the signal's reason. For a wait with
 * no time limit that something else ends (a server leaving, a stop). Given as a function, `work` starts after the
 * listening does, so its own answer to the abort does not win. The listener goes as soon as either ends.
 */
export async function unlessAborted<T>(work: Promise<T> | (() => Promise<T>), signal: AbortSignal): Promise<T> {
  let giveUp = (): void => undefined;
  const given = new Promise<never>((_, reject) => {
    giveUp = () => reject(signal.reason);
    if (signal.aborted) giveUp();
    else signal.addEventListener('abort', giveUp, { once: true });
  });
  // Raced below; unobserved when `work` throws before the race begins (on a signal already aborted, a crash).
  given.catch(() => undefined);
  try {
    return await Promise.race([typeof work === 'function' ? work() : work, given]);
  } finally {
    signal.removeEventListener('abort', giveUp);
  }
}

/**
 * `work`'s value, or `late` once `ms` pass (or `options.signal` aborts) before it settles: for a wait that goes on
 * without the answer rather than failing. A rejection of `work` passes through.
 */
export async function within<T, L = undefined>(
  work: Promise<T>,
  ms: number,
  late?: L,
  options: TimeoutOptions = {},
): Promise<T | L> {
  const timedOut = {};
  try {
    return await withTimeout(work, ms, () => timedOut, options);
  } catch (error) {
    if (error === timedOut || (options.signal?.aborted && error === options.signal.reason)) return late as L;
    throw error;
  }
}
