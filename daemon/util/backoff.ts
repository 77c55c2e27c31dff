/** Doublings past this many change no wait (the cap is reached for any first wait), and 2 ** n stays finite. */
const MAX_DOUBLINGS = 30;

export interface BackoffOptions {
  /** The wait after the first failure, ms. */
  firstMs: number;
  /** The longest wait, ms. */
  maxMs: number;
  /**
   * The share of each wait drawn at random, 0 to 1: a wait is between (1 - jitter) and 1 times the exponential
   * one, so peers cut off together do not come back in step. 0 (the default): every wait is exact.
   */
  jitter?: number;
  /** A draw in [0, 1), for the jitter (tests pass their own). */
  random?: () => number;
}

/**
 * The wait before the next try after `failures` failures in a row, less one (0: the first retry waits `firstMs`):
 * doubling per failure up to `maxMs`, with the jitter taken off it.
 */
export function exponentialBackoff(failures: number, options: BackoffOptions): number {
  const { firstMs, maxMs, jitter = 0, random = Math.random } = options;
  const exact = Math.min(maxMs, firstMs * 2 ** Math.min(failures, MAX_DOUBLINGS));
  return jitter === 0 ? exact : exact * (1 - jitter + jitter * random());
}

/**
 * A streak of failures and the wait each calls for: `next` counts a failure and returns the wait before the next
 * try; `reset` ends the streak (a try held), so the next failure waits `firstMs` again.
 */
export class Backoff {
  readonly #options: BackoffOptions;
  #failures = 0;

  constructor(options: BackoffOptions) {
    const { firstMs, jitter = 0 } = options;
    if (!(firstMs >= 0)) throw new RangeError(`Backoff: firstMs must be >= 0, got ${firstMs}`);
    if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`Backoff: jitter must be 0 to 1, got ${jitter}`);
    this.#options = options;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** Counts a failure; the wait before the next try. */
  next(): number {
    return exponentialBackoff(this.#failures++, this.#options);
  }

  reset(): void {
    this.#failures = 0;
  }
}
