/**
 * A message rate: on average `ratePerS` a second, and up to `burst` at once after a pause (a second's
 * worth by default, so a panel's jitter never trips it). The clock is injected so the rate is tested
 * without waiting.
 */
export class TokenBucket {
  #ratePerMs: number;
  #burst: number;
  #now: () => number;
  #tokens: number;
  #at: number;

  constructor(options: { ratePerS: number; burst?: number; now?: () => number }) {
    const { ratePerS, burst = Math.max(1, ratePerS), now = () => performance.now() } = options;
    if (!(ratePerS > 0)) throw new RangeError(`TokenBucket: ratePerS must be > 0, got ${ratePerS}`);
    if (!(burst >= 1)) throw new RangeError(`TokenBucket: burst must be >= 1, got ${burst}`);
    this.#ratePerMs = ratePerS / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  /** Takes one message's worth; false when the rate is spent (nothing is taken then). */
  take(): boolean {
    const now = this.#now();
    // A clock that steps back must not drain the bucket.
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#at) * this.#ratePerMs);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
