/**
 * The calls made in the last minute, for a rate limit: one MCP client's (max_calls_per_minute) or all of
 * theirs (max_calls_per_minute_total). A sliding window of call times: a client cannot burst twice the limit
 * across a minute's edge, as it could with fixed minutes.
 */
export class CallWindow {
  #times: number[] = [];
  #limit: number;
  #windowMs: number;

  constructor({ limit, windowMs = 60_000 }: { limit: number; windowMs?: number }) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Whether a call at `now` (ms) fits; nothing taken, so a call that another window refuses costs this one none. */
  fits(now: number): boolean {
    while (this.#times.length > 0 && this.#times[0]! <= now - this.#windowMs) this.#times.shift();
    return this.#times.length < this.#limit;
  }

  /** Takes a call at `now` (ms): false, and nothing taken, when the window is full. */
  take(now: number): boolean {
    if (!this.fits(now)) return false;
    this.#times.push(now);
    return true;
  }
}
