import type { BusMessage, QueueOptions, SubscriberCounters } from './types.ts';

/**
 * A bounded ring buffer of messages for one subscriber, with its drop policy and counters. Nothing leaves
 * it uncounted: every message offered is either delivered, dropped (counted) or still queued.
 * It sits on the bus's hot path, so counters are plain fields and the ring wraps without `%`.
 */
export class SubscriberQueue {
  readonly policy: QueueOptions['policy'];
  readonly depth: number;
  #ring: (BusMessage | undefined)[];
  #head = 0;
  #size = 0;
  #received = 0;
  #delivered = 0;
  #dropped = 0;
  /** Overflow replaces the oldest queued message (keep-latest, drop-oldest) rather than the incoming one. */
  #evictOldest: boolean;

  constructor(options: QueueOptions) {
    const { policy, depth } = options;
    if (!Number.isInteger(depth) || depth < 1)
      throw new RangeError(`queue depth must be an integer >= 1, got ${depth}`);
    this.policy = policy;
    this.depth = policy === 'keep-latest' ? 1 : depth;
    this.#ring = new Array(this.depth).fill(undefined);
    this.#evictOldest = policy === 'keep-latest' || policy === 'drop-oldest';
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.depth;
  }

  get counters(): SubscriberCounters {
    return { received: this.#received, delivered: this.#delivered, dropped: this.#dropped, queued: this.#size };
  }

  /** Offers a message; returns the message dropped to make room (the incoming one or the oldest), if any. */
  offer(msg: BusMessage): BusMessage | undefined {
    this.#received++;
    const depth = this.depth;
    if (this.#size < depth) {
      let tail = this.#head + this.#size;
      if (tail >= depth) tail -= depth;
      this.#ring[tail] = msg;
      this.#size++;
      return undefined;
    }
    this.#dropped++;
    if (!this.#evictOldest) return msg;
    // The oldest queued message makes room for the new one: the new tail is the old head's slot.
    const evicted = this.#ring[this.#head]!;
    this.#ring[this.#head] = msg;
    this.#head = this.#head + 1 === depth ? 0 : this.#head + 1;
    return evicted;
  }

  take(): BusMessage | undefined {
    if (this.#size === 0) return undefined;
    const msg = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = this.#head + 1 === this.depth ? 0 : this.#head + 1;
    this.#size--;
    this.#delivered++;
    return msg;
  }

  /** Empties the queue; what was queued counts as dropped (used when a subscriber closes). Returns it. */
  clear(): BusMessage[] {
    const dropped: BusMessage[] = [];
    for (let i = 0; i < this.#size; i++) dropped.push(this.#ring[(this.#head + i) % this.depth]!);
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    this.#dropped += dropped.length;
    return dropped;
  }
}
