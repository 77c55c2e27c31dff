import { Backoff, type BackoffOptions } from '../util/index.ts';
import { CatalogLockedError } from './catalog.ts';

/** The CatalogLockedError a job failed with, itself or as its cause; undefined for any other failure. */
export function catalogLockOf(error: unknown): CatalogLockedError | undefined {
  if (error instanceof CatalogLockedError) return error;
  const cause = (error as Error | undefined)?.cause;
  return cause instanceof CatalogLockedError ? cause : undefined;
}

/**
 * Whether another process holds the catalog, as the lakehouse's jobs last found it, and when a job may next try
 * it. While it is held, jobs due before that time are skipped rather than each wait out the lock: the first job
 * after it finds out whether the lock is gone, so a lock held for days costs one wait per backoff.
 */
export class CatalogLockBackoff {
  readonly #backoff: Backoff;
  readonly #now: () => number;
  #held: string | undefined;
  #retryAt = 0;

  constructor({ backoff, now }: { backoff: BackoffOptions; now: () => number }) {
    this.#backoff = new Backoff(backoff);
    this.#now = now;
  }

  /** What the last job that found the catalog locked said; undefined while it is not known to be held. */
  get held(): string | undefined {
    return this.#held;
  }

  /** When a job may next try the catalog, on the clock given. */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** Whether a job due now is skipped: the catalog is held and its backoff has not passed. */
  holding(): boolean {
    return this.#held !== undefined && this.#now() < this.#retryAt;
  }

  /** A job found the catalog locked: jobs skip until the backoff, longer with each such failure in a row, passes. */
  failed(message: string): void {
    this.#held = message;
    this.#retryAt = this.#now() + this.#backoff.next();
  }

  /** A job asked for now tries the catalog at once, not after the backoff. */
  retryNow(): void {
    this.#retryAt = 0;
  }

  /** A catalog write went through: returns whether the catalog was held until then. */
  clear(): boolean {
    if (this.#held === undefined) return false;
    this.#held = undefined;
    this.#backoff.reset();
    return true;
  }
}
