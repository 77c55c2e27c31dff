import type { Bus, Subscription } from '../bus/index.ts';
import type { BusMessage, QueueOptions } from '../bus/index.ts';

export interface TopicSubscriptionsOptions {
  bus: Bus;
  /** The subscriber's name on the bus. */
  name: string;
  queue: QueueOptions;
  handler: (msg: BusMessage) => void;
  /** The clock quiet time is measured on, ms. */
  now: () => number;
}

interface Entry {
  sub: Subscription;
  /** `received` at the last sweep, and when it was last seen to change (or the topic was subscribed). */
  received: number;
  since: number;
}

/**
 * The recorder's subscriptions, one per topic, and what it lets go of: a subscription costs about 2 KiB of
 * heap on the bus, so with topics that come and go (per-run namespaces) keeping every one ever seen grows
 * without bound. `forgetQuiet` unsubscribes topics that have been silent long enough; such a topic is
 * subscribed again by the bus's onNextPublish hook, before its next message is delivered, so nothing it
 * publishes is missed. Queue drops of a subscription let go are kept (per topic, only where there were any).
 *
 * transient_local topics are never let go: subscribing again would replay their latched message, which
 * was recorded already.
 */
export class TopicSubscriptions {
  readonly #bus: Bus;
  readonly #now: () => number;
  readonly #name: string;
  readonly #queue: QueueOptions;
  readonly #handler: (msg: BusMessage) => void;
  #subs = new Map<string, Entry>();
  /** Topics let go, each waiting on the bus's onNextPublish hook (one listener serves them all). */
  #quiet = new Set<string>();
  #revive = (topic: string): void => this.subscribe(topic);
  /** Queue drops of subscriptions closed (let go, or stopped). */
  #closedDrops = new Map<string, number>();

  constructor(options: TopicSubscriptionsOptions) {
    const { bus, now, name, queue, handler } = options;
    this.#bus = bus;
    this.#now = now;
    this.#name = name;
    this.#queue = queue;
    this.#handler = handler;
  }

  /** Topics subscribed now. */
  get size(): number {
    return this.#subs.size;
  }

  /** Topics let go while quiet (subscribed again when they publish). */
  get quietCount(): number {
    return this.#quiet.size;
  }

  has(topic: string): boolean {
    return this.#subs.has(topic);
  }

  /** Subscribes to `topic` unless it is already. */
  subscribe(topic: string): void {
    if (this.#subs.has(topic)) return;
    if (this.#quiet.delete(topic)) this.#bus.offNextPublish(topic, this.#revive);
    const sub = this.#bus.subscribe({ name: this.#name, topic, queue: this.#queue, handler: this.#handler });
    this.#subs.set(topic, { sub, received: 0, since: this.#now() });
  }

  /**
   * Lets go of each topic that has received nothing for `quietMs`, has nothing queued, and that `keep` does
   * not claim (the recorder keeps those of the split being written). A sweep compares each topic's count of
   * messages with the last sweep's, so a topic is let go between `quietMs` and `quietMs` plus the time
   * between sweeps after its last message. Returns the topics let go.
   */
  forgetQuiet(quietMs: number, keep: (topic: string) => boolean): string[] {
    const now = this.#now();
    const forgotten: string[] = [];
    for (const [topic, entry] of this.#subs) {
      const { received, queued } = entry.sub.counters;
      if (received !== entry.received || queued > 0) {
        entry.received = received;
        entry.since = now;
        continue;
      }
      if (now - entry.since < quietMs || keep(topic) || this.#bus.topicQos(topic)?.durability === 'transient_local')
        continue;
      this.#close(topic, entry.sub, false);
      this.#subs.delete(topic);
      // Subscribed again before its next message is delivered: that message is recorded like any other.
      this.#bus.onNextPublish(topic, this.#revive);
      this.#quiet.add(topic);
      forgotten.push(topic);
    }
    return forgotten;
  }

  /** Unsubscribes from everything, quiet topics' hooks included. */
  closeAll(): void {
    for (const [topic, entry] of this.#subs) this.#close(topic, entry.sub, true);
    this.#subs.clear();
    for (const topic of this.#quiet) this.#bus.offNextPublish(topic, this.#revive);
    this.#quiet.clear();
  }

  /** Queue drops per topic, of subscriptions open and closed. Every topic subscribed now has an entry (0 for none). */
  drops(): Map<string, number> {
    const out = new Map(this.#closedDrops);
    for (const [topic, { sub }] of this.#subs) out.set(topic, (out.get(topic) ?? 0) + sub.counters.dropped);
    return out;
  }

  /** `listed`: keep the topic's entry among the drops even at 0 (it was subscribed until the recorder stopped). */
  #close(topic: string, sub: Subscription, listed: boolean): void {
    const dropped = sub.counters.dropped;
    if (listed || dropped > 0 || this.#closedDrops.has(topic))
      this.#closedDrops.set(topic, (this.#closedDrops.get(topic) ?? 0) + dropped);
    this.#bus.unsubscribe(sub);
  }
}
