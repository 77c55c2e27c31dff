/**
 * How often the daemon logs one recurring problem: its first occurrence at once, with the details, then at
 * most `burst` lines per `intervalMs` window per key (a window starts with the first line after the last
 * one ended), each carrying how many occurrences were held back since the last line. For what a peer or a
 * degraded state makes the daemon meet per message or per tick (a dead sensor, garbage on a topic, a policy
 * that fails every tick): months of it must cost a line a minute in journald, not one per event, and must
 * not bury the line that says what went wrong first. The full counts stay in the metrics.
 *
 * Keys name a problem (`not_json`, a loop's topic), from a set the daemon's config bounds: never a string
 * a peer chooses, which would grow the map without bound. A key that is an object (a client) must be
 * flushed when it goes (a Foxglove client leaving). No timers: a caller with a clock of its own (a
 * loop's tick) calls `due` to log what was held back once the occurrences stop; else it rides on the next.
 */
export class LogBurst<K = string> {
  #intervalMs: number;
  #burst: number;
  #now: () => number;
  #keys = new Map<K, { start: number; passed: number; held: number }>();

  constructor(options: { intervalMs?: number; burst?: number; now?: () => number } = {}) {
    const { intervalMs = 60_000, burst = 1, now = () => performance.now() } = options;
    if (!(intervalMs >= 0)) throw new RangeError(`LogBurst: intervalMs must be >= 0, got ${intervalMs}`);
    if (!Number.isInteger(burst) || burst < 1)
      throw new RangeError(`LogBurst: burst must be an integer >= 1, got ${burst}`);
    this.#intervalMs = intervalMs;
    this.#burst = burst;
    this.#now = now;
  }

  /**
   * One occurrence (or `count`) of the problem `key`: how many were held back since the last line, when
   * this one is to be logged, or undefined when it is held back (and counted).
   */
  take(key: K, count = 1): number | undefined {
    const now = this.#now();
    const state = this.#keys.get(key);
    if (!state || now - state.start >= this.#intervalMs) {
      this.#keys.set(key, { start: now, passed: 1, held: 0 });
      return state?.held ?? 0;
    }
    if (state.passed < this.#burst && state.held === 0) {
      state.passed++;
      return 0;
    }
    state.held += count;
    return undefined;
  }

  /**
   * The keys whose window has ended with occurrences held back, each with its count. For a summary line once
   * the occurrences stop coming (or come and go); the summary fills a new window of its own, so a key that
   * keeps happening costs one line per window whether its lines come from here or from `take`.
   */
  due(): [key: K, held: number][] {
    const now = this.#now();
    const due: [K, number][] = [];
    for (const [key, state] of this.#keys) {
      if (state.held === 0 || now - state.start < this.#intervalMs) continue;
      due.push([key, state.held]);
      Object.assign(state, { start: now, passed: this.#burst, held: 0 });
    }
    return due;
  }

  /** How many keys it holds (each until its window ends and is not renewed, or it is flushed). */
  get size(): number {
    return this.#keys.size;
  }

  /** Whether any key has occurrences held back (that `due` will report once their window ends). */
  holding(): boolean {
    for (const state of this.#keys.values()) if (state.held > 0) return true;
    return false;
  }

  /** How many of `key` were held back since its last line; the key is forgotten (its problem went away). */
  flush(key: K): number {
    const held = this.#keys.get(key)?.held ?? 0;
    this.#keys.delete(key);
    return held;
  }
}

/** The fields of a line that `take` let through: `suppressed` (the count held back) when there was any. */
export function withSuppressed<T extends object>(fields: T, held: number): T & { suppressed?: number } {
  return held > 0 ? { ...fields, suppressed: held } : fields;
}
