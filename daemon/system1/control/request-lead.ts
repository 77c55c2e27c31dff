/** Round trips the lead looks back over: a few chunks, so one slow reply raises it and a run of fast ones lowers it. */
const KEPT = 8;
/** How much slower than the slowest recent round trip a reply may be and still come before the queue runs dry. */
const HEADROOM = 2;

/**
 * How many actions a remote policy's queue must still hold when its next observation goes out, so that the chunk
 * comes back before the queue runs dry: twice the longest of the recent round trips, in ticks, and one more (a reply
 * as slow as twice the slowest lately is still in time). LeRobot's client asks at a fixed fraction of the chunk
 * (chunk_size_threshold), which a slow link can outlast; this asks early enough for the link as it is measured. Kept
 * in a typed array: the loop thread records one per chunk.
 */
export class RequestLead {
  readonly #trips = new Float64Array(KEPT);
  readonly #periodMs: number;
  #recorded = 0;

  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  /** Records a chunk's round trip (observation out to chunk taken, ms) and returns the lead, in actions. */
  record(ms: number): number {
    this.#trips[this.#recorded % KEPT] = ms;
    this.#recorded++;
    let longest = 0;
    for (let i = 0; i < KEPT; i++) if (this.#trips[i]! > longest) longest = this.#trips[i]!;
    return Math.ceil((HEADROOM * longest) / this.#periodMs) + 1;
  }
}
