/**
 * How often the daemon says something about one key (a client): the first time at once, then at most once
 * per `intervalMs`, each time with how many it held back since the last. For what a peer can make the
 * daemon repeat (log lines, status messages), so a client that sends garbage 1000 times a second costs
 * one line per interval. Keys are held weakly: a client that goes away needs no cleanup.
 */
export class Throttle {
  #intervalMs: number;
  #now: () => number;
  #keys = new WeakMap<object, { last: number; held: number }>();

  constructor(options: { intervalMs: number; now?: () => number }) {
    const { intervalMs, now = () => performance.now() } = options;
    if (!(intervalMs >= 0)) throw new RangeError(`Throttle: intervalMs must be >= 0, got ${intervalMs}`);
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** How many were held back since the last one that passed, or undefined when this one is held back. */
  take(key: object): number | undefined {
    const now = this.#now();
    const state = this.#keys.get(key);
    if (!state) {
      this.#keys.set(key, { last: now, held: 0 });
      return 0;
    }
    if (now - state.last < this.#intervalMs) {
      state.held++;
      return undefined;
    }
    const held = state.held;
    state.last = now;
    state.held = 0;
    return held;
  }

  /** How many were held back since the last one that passed; the key is forgotten (its client left). */
  flush(key: object): number {
    const held = this.#keys.get(key)?.held ?? 0;
    this.#keys.delete(key);
    return held;
  }
}
