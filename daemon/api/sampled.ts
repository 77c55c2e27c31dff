export interface SampledOptions<T> {
  /** Reads the value; a promise is shared by every caller until it settles or grows old. */
  read: () => T;
  /** How old a reading may be before the next get() reads again. */
  maxAgeMs?: number;
  /** Monotonic ms. */
  now?: () => number;
}

/**
 * A value read at most once per `maxAgeMs`, for what the API reports on every request and costs the event
 * loop to read: the data dir's statfs for /readyz and /status (one job in libuv's thread pool per request,
 * queued where the operator's stop queues its latch and journal writes), the process's memory for
 * /metrics (a /proc read per scrape: under a flood of scrapes, more than rendering the rest). When the
 * reading is a promise, callers that come while it runs share it, and a rejection is never kept: the next
 * get() reads again.
 */
export class Sampled<T> {
  readonly #read: () => T;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #last: { value: T; atMs: number } | undefined;

  constructor(options: SampledOptions<T>) {
    const { read, maxAgeMs = 1000, now = () => performance.now() } = options;
    this.#read = read;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  get(): T {
    const now = this.#now();
    const last = this.#last;
    if (last && now - last.atMs <= this.#maxAgeMs) return last.value;
    // Stamped when read, not when a promise settles: a slow statfs is that much older already.
    const value = this.#read();
    const sample = { value, atMs: now };
    this.#last = sample;
    if (value instanceof Promise)
      value.catch(() => {
        if (this.#last === sample) this.#last = undefined;
      });
    return value;
  }
}
