/**
 * How often the daemon says something about one key (a client): at most `burst` times per `intervalMs`
 * window (a window starts with the first event after the last one ended), each time with how many it held
 * back since the last. For what a peer can make the daemon repeat (log lines, status messages), so a
 * client that sends garbage 1000 times a second costs a few lines per interval. Keys are held weakly: a
 * client that goes away needs no cleanup.
 */
export class Throttle {
  #intervalMs: number;
  #burst: number;
  #now: () => number;
  #keys = new WeakMap<object, { start: number; passed: number; held: number }>();

  constructor(options: { intervalMs: number; burst?: number; now?: () => number }) {
    const { intervalMs, burst = 1, now = () => performance.now() } = options;
    if (!(intervalMs >= 0)) throw new RangeError(`Throttle: intervalMs must be >= 0, got ${intervalMs}`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`Throttle: burst must be an integer >= 1, got ${burst}`);
    this.#intervalMs = intervalMs;
    this.#burst = burst;
    this.#now = now;
  }

  /** How many were held back since the last one that passed, or undefined when this one is held back. */
  take(key: object): number | undefined {
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
    state.held++;
    return undefined;
  }

  /** How many were held back since the last one that passed; the key is forgotten (its client left). */
  flush(key: object): number {
    const held = this.#keys.get(key)?.held ?? 0;
    this.#keys.delete(key);
    return held;
  }
}
