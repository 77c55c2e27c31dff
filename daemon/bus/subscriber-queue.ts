import type { BusMessage, QueueOptions, SubscriberCounters } from './types.ts';

/**
 * A bounded ring buffer of messages for one subscriber, with its drop policy and counters. Nothing leaves
 * it uncounted: every message offered is either delivered, dropped (counted) or still queued.
 */
export class SubscriberQueue {
  readonly policy: QueueOptions['policy'];
  readonly depth: number;
  #ring: (BusMessage | undefined)[];
  #head = 0;
  #size = 0;
  readonly counters: SubscriberCounters = { received: 0, delivered: 0, dropped: 0, queued: 0 };

  constructor(options: QueueOptions) {
    const { policy, depth } = options;
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`queue depth must be an integer >= 1, got ${depth}`);
    this.policy = policy;
    this.depth = policy === 'keep-latest' ? 1 : depth;
    this.#ring = new Array(this.depth);
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.depth;
  }

  /** Offers a message; returns false when it (or an older one it displaced) was dropped. */
  offer(msg: BusMessage): boolean {
    this.counters.received++;
    if (this.#size < this.depth) {
      this.#ring[(this.#head + this.#size) % this.depth] = msg;
      this.#size++;
      this.counters.queued = this.#size;
      return true;
    }
    this.counters.dropped++;
    if (this.policy === 'drop-newest' || this.policy === 'block') return false;
    // keep-latest and drop-oldest: the oldest queued message makes room for the new one.
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.depth;
    this.#ring[(this.#head + this.#size - 1) % this.depth] = msg;
    return false;
  }

  take(): BusMessage | undefined {
    if (this.#size === 0) return undefined;
    const msg = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.depth;
    this.#size--;
    this.counters.queued = this.#size;
    this.counters.delivered++;
    return msg;
  }

  /** Empties the queue; what was queued counts as dropped (used when a subscriber closes). */
  clear(): number {
    const n = this.#size;
    while (this.#size > 0) this.take();
    this.counters.delivered -= n;
    this.counters.dropped += n;
    return n;
  }
}
