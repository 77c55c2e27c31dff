/**
 * The calls one MCP client made in the last minute, for max_calls_per_minute. A sliding window of call
 * times: a client cannot burst twice the limit across a minute's edge, as it could with fixed minutes.
 */
export class CallWindow {
  #times: number[] = [];
  #limit: number;
  #windowMs: number;

  constructor({ limit, windowMs = 60_000 }: { limit: number; windowMs?: number }) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Takes a call at `now` (ms): false, and nothing taken, when the window is full. */
  take(now: number): boolean {
    while (this.#times.length > 0 && this.#times[0]! <= now - this.#windowMs) this.#times.shift();
    if (this.#times.length >= this.#limit) return false;
    this.#times.push(now);
    return true;
  }
}
