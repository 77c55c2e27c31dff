/**
 * Keeps a real-time stop thread (the stop listener's, central's stop connection's) from being held by a flood. A thread
 * at SCHED_FIFO that is always runnable takes its core from everything below it (the control loops, the daemon, the
 * rest of the robot) for as long as the flood lasts; so past `perSecond` connections, requests or messages in one
 * second the thread goes back to the normal scheduler (at its niceness), and returns to real time once `quietMs` have
 * passed with none over the rate. Stops are still taken meanwhile, at the niceness: a flood costs them the real-time
 * wake, never the stop.
 */
export class FloodGuard {
  readonly #perSecond: number;
  readonly #quietMs: number;
  #windowStart = -Infinity;
  #count = 0;
  #lastFloodMs = -Infinity;
  #demoted = false;
  /** Times it left real time for a flood. */
  demotions = 0;

  constructor(perSecond: number, quietMs: number) {
    this.#perSecond = perSecond;
    this.#quietMs = quietMs;
  }

  get demoted(): boolean {
    return this.#demoted;
  }

  /** One connection or request at `nowMs`; true when this one is the flood's first (the caller demotes). */
  hit(nowMs: number): boolean {
    if (nowMs - this.#windowStart >= 1000) {
      this.#windowStart = nowMs;
      this.#count = 0;
    }
    this.#count++;
    if (this.#count <= this.#perSecond) return false;
    this.#lastFloodMs = nowMs;
    if (this.#demoted) return false;
    this.#demoted = true;
    this.demotions++;
    return true;
  }

  /** True when a demoted thread may return to real time at `nowMs` (the caller promotes). */
  quiet(nowMs: number): boolean {
    if (!this.#demoted || nowMs - this.#lastFloodMs < this.#quietMs) return false;
    this.#demoted = false;
    return true;
  }
}
