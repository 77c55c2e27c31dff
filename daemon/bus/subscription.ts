import { compileTopicGlob } from './glob.ts';
import { SubscriberQueue } from './subscriber-queue.ts';
import type { BusMessage, QueueOptions, SubscriberCounters } from './types.ts';

export interface SubscribeOptions {
  /** Who subscribes; names the queue in stats and metrics (`recorder`, `navigator`, ...). */
  name: string;
  /** An exact topic, or a glob (`/camera/**`). A glob also attaches to topics that appear later. */
  topic: string;
  /** Defaults to drop-oldest with depth 100. */
  queue?: Partial<QueueOptions>;
  /**
   * Called once per message, in order. When it returns a promise the next message waits for it: a slow
   * consumer fills its own queue and drops by its own policy, never holding up the publisher.
   */
  handler: (msg: BusMessage) => void | Promise<void>;
}

/** A subscriber's handle: its counters, and close(). */
export class Subscription {
  readonly name: string;
  readonly pattern: string;
  readonly matches: (topic: string) => boolean;
  readonly queue: SubscriberQueue;
  readonly topics = new Set<string>();
  errors = 0;
  /** Drops per topic: a glob subscriber's drops must be told apart by topic for per-topic stats. */
  readonly dropsByTopic = new Map<string, number>();
  #handler: SubscribeOptions['handler'];
  #scheduled = false;
  #closed = false;
  #onError: (topic: string, error: unknown) => void;
  #waiters: (() => void)[] = [];

  constructor(options: SubscribeOptions, onError: (topic: string, error: unknown) => void) {
    const { name, topic, queue = {}, handler } = options;
    this.name = name;
    this.pattern = topic;
    this.matches = compileTopicGlob(topic);
    this.queue = new SubscriberQueue({ policy: queue.policy ?? 'drop-oldest', depth: queue.depth ?? 100 });
    this.#handler = handler;
    this.#onError = onError;
  }

  get counters(): SubscriberCounters {
    return this.queue.counters;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** @internal called by the bus on publish. */
  offer(msg: BusMessage): void {
    if (this.#closed) return;
    const dropped = this.queue.offer(msg);
    if (dropped !== undefined) this.#countDrop(dropped.topic);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  /** @internal resolves when the queue has room (for `block` subscribers). */
  waitForRoom(): Promise<void> {
    if (!this.queue.full || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #drain = (): void => {
    while (!this.#closed) {
      const msg = this.queue.take();
      if (msg === undefined) break;
      if (this.#waiters.length > 0) this.#wakeWaiters();
      let result: void | Promise<void>;
      try {
        result = this.#handler(msg);
      } catch (error) {
        this.#fail(msg.topic, error);
        continue;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(this.#drain, (error: unknown) => {
          this.#fail(msg.topic, error);
          this.#drain();
        });
        return;
      }
    }
    this.#scheduled = false;
  };

  #countDrop(topic: string): void {
    this.dropsByTopic.set(topic, (this.dropsByTopic.get(topic) ?? 0) + 1);
  }

  #fail(topic: string, error: unknown): void {
    this.errors++;
    this.#onError(topic, error);
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** @internal */
  markClosed(): void {
    this.#closed = true;
    for (const dropped of this.queue.clear()) this.#countDrop(dropped.topic);
    this.#wakeWaiters();
  }
}
