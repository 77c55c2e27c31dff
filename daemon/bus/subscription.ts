import { compileTopicGlob, isTopicGlob } from './glob.ts';
import { SubscriberQueue } from './subscriber-queue.ts';
import type { TopicRecord } from './topic-record.ts';
import { addSleeper, admitReader, fitRingLimit, MAX_RING_DEPTH, releaseRing } from './topic-ring.ts';
import type { BusMessage, QueueOptions, QueuePolicy, SubscriberCounters } from './types.ts';

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

/**
 * A subscriber's handle: its counters, and close(). Two kinds deliver alike (in order, after the
 * publisher returns, one handler call at a time) and differ in where waiting messages are kept:
 * - a cursor subscription (an exact topic, drop-oldest or keep-latest: most subscribers) reads the
 *   topic's shared ring (topic-ring.ts), so a publish costs the same however many of them there are;
 * - a queued subscription (a glob, which must keep the order of messages across topics, or drop-newest and
 *   block, which decide per message as it arrives) has a ring buffer of its own.
 */
export abstract class Subscription {
  readonly name: string;
  readonly pattern: string;
  readonly matches: (topic: string) => boolean;
  readonly topics = new Set<string>();
  errors = 0;
  #handler: SubscribeOptions['handler'];
  #scheduled = false;
  #closed = false;
  #onError: (topic: string, error: unknown) => void;

  /** A subscription of the kind that suits `options`; the bus attaches it to its topics. */
  static create(options: SubscribeOptions, onError: (topic: string, error: unknown) => void): Subscription {
    const policy = options.queue?.policy ?? 'drop-oldest';
    const depth = policy === 'keep-latest' ? 1 : (options.queue?.depth ?? 100);
    if (
      !isTopicGlob(options.topic) &&
      (policy === 'drop-oldest' || policy === 'keep-latest') &&
      Number.isInteger(depth) &&
      depth >= 1 &&
      depth <= MAX_RING_DEPTH
    ) {
      return new CursorSubscription(options, policy, depth, onError);
    }
    return new QueuedSubscription(options, new SubscriberQueue({ policy, depth }), onError);
  }

  protected constructor(options: SubscribeOptions, onError: (topic: string, error: unknown) => void) {
    this.name = options.name;
    this.pattern = options.topic;
    this.matches = compileTopicGlob(options.topic);
    this.#handler = options.handler;
    this.#onError = onError;
  }

  /** Its queue's policy and depth. */
  abstract get queue(): { readonly policy: QueuePolicy; readonly depth: number };

  abstract get counters(): SubscriberCounters;

  /** Messages of `topic` this subscriber has dropped (or must drop: more than its depth behind). */
  abstract drops(topic: string): number;

  get closed(): boolean {
    return this.#closed;
  }

  /** @internal called by the bus when the subscription starts to receive `record`'s messages. */
  attach(record: TopicRecord): void {
    this.topics.add(record.topic);
  }

  /** @internal called by the bus when it stops receiving them. */
  abstract detach(record: TopicRecord): void;

  /** @internal resolves when the queue has room (for `block` subscribers). */
  waitForRoom(): Promise<void> {
    return Promise.resolve();
  }

  /** @internal */
  markClosed(): void {
    this.#closed = true;
    this.discardQueued();
  }

  /** The next message to deliver, counted as delivered; undefined when there is none. */
  protected abstract next(): BusMessage | undefined;

  /** Counts what is still queued as dropped and lets it go (the subscriber has closed). */
  protected abstract discardQueued(): void;

  /** Called when the subscriber has caught up. */
  protected idle(): void {}

  protected schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(this.#drain);
  }

  #drain = (): void => {
    while (!this.#closed) {
      const msg = this.next();
      if (msg === undefined) break;
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
    this.idle();
  };

  #fail(topic: string, error: unknown): void {
    this.errors++;
    this.#onError(topic, error);
  }
}

/** Orders cursor subscriptions by when they were made. */
let cursorsMade = 0;

/** Reads one topic's shared ring from its own position (see topic-ring.ts). */
class CursorSubscription extends Subscription {
  readonly queue: { readonly policy: QueuePolicy; readonly depth: number };
  readonly depth: number;
  readonly order = cursorsMade++;
  #record: TopicRecord | undefined;
  /** Sequence number of the next message to read from the ring. */
  #position = 0;
  /** The topic's count when attached (less one when a latched message was owed) or closed. */
  #start = 0;
  #end: number | undefined;
  /** A latched message owed from before the subscription (it is older than anything in the ring). */
  #latched: BusMessage | undefined;
  #delivered = 0;
  #dropped = 0;

  constructor(
    options: SubscribeOptions,
    policy: QueuePolicy,
    depth: number,
    onError: (topic: string, error: unknown) => void,
  ) {
    super(options, onError);
    this.depth = depth;
    this.queue = { policy, depth };
  }

  get position(): number {
    return this.#position;
  }

  get counters(): SubscriberCounters {
    const waiting = this.#waiting();
    const overflow = Math.max(0, waiting - this.depth);
    const received = (this.#end ?? this.#record?.count ?? 0) - this.#start;
    return { received, delivered: this.#delivered, dropped: this.#dropped + overflow, queued: waiting - overflow };
  }

  drops(topic: string): number {
    if (topic !== this.#record?.topic) return 0;
    return this.#dropped + Math.max(0, this.#waiting() - this.depth);
  }

  override attach(record: TopicRecord): void {
    super.attach(record);
    admitReader(record, this.depth);
    this.#record = record;
    this.#position = record.count;
    this.#start = record.count;
    if (record.latched) {
      this.#latched = record.latched;
      this.#start--;
    }
    record.cursors = [...record.cursors, this];
    if (this.#latched) this.schedule();
    else addSleeper(record, this);
  }

  detach(record: TopicRecord): void {
    record.cursors = record.cursors.filter((c) => c !== this);
    record.sleepers = record.sleepers.filter((c) => c !== this);
    fitRingLimit(record);
    releaseRing(record);
  }

  /** @internal called by the bus when it publishes on the topic while this subscriber is idle. */
  wake(): void {
    this.schedule();
  }

  protected next(): BusMessage | undefined {
    const record = this.#record!;
    const position = this.#position;
    const waiting = record.count - position;
    if (waiting > 0 && waiting <= this.depth && this.#latched === undefined) {
      this.#position = position + 1;
      this.#delivered++;
      return record.ring[position & record.mask];
    }
    return this.#catchUp(record, waiting);
  }

  /** next() when a latched message is owed, or the subscriber is more than its depth behind. */
  #catchUp(record: TopicRecord, waiting: number): BusMessage | undefined {
    if (this.#latched !== undefined) {
      if (waiting < this.depth) {
        const msg = this.#latched;
        this.#latched = undefined;
        this.#delivered++;
        return msg;
      }
      this.#latched = undefined; // superseded by `depth` newer messages
      this.#dropped++;
    }
    if (waiting === 0) return undefined;
    if (waiting > this.depth) {
      this.#dropped += waiting - this.depth;
      this.#position += waiting - this.depth;
    }
    const msg = record.ring[this.#position & record.mask];
    this.#position++;
    this.#delivered++;
    return msg;
  }

  protected override idle(): void {
    const record = this.#record;
    if (!record || this.closed) return;
    addSleeper(record, this);
    releaseRing(record);
  }

  protected discardQueued(): void {
    const waiting = this.#waiting();
    this.#dropped += waiting;
    this.#latched = undefined;
    if (this.#record) {
      this.#end = this.#record.count;
      this.#position = this.#record.count;
    }
  }

  /** Messages received and neither delivered nor dropped yet (some may be over the depth). */
  #waiting(): number {
    if (!this.#record || this.#end !== undefined) return 0;
    return this.#record.count - this.#position + (this.#latched ? 1 : 0);
  }
}

/** Has a queue of its own, filled as messages arrive (see subscriber-queue.ts). */
class QueuedSubscription extends Subscription {
  readonly queue: SubscriberQueue;
  /** Drops per topic: a glob subscriber's drops must be told apart by topic for per-topic stats. */
  readonly #dropsByTopic = new Map<string, number>();
  #waiters: (() => void)[] = [];

  constructor(options: SubscribeOptions, queue: SubscriberQueue, onError: (topic: string, error: unknown) => void) {
    super(options, onError);
    this.queue = queue;
  }

  get counters(): SubscriberCounters {
    return this.queue.counters;
  }

  drops(topic: string): number {
    return this.#dropsByTopic.get(topic) ?? 0;
  }

  override attach(record: TopicRecord): void {
    super.attach(record);
    record.queued = [...record.queued, this];
    if (record.latched) this.offer(record.latched);
  }

  detach(record: TopicRecord): void {
    record.queued = record.queued.filter((q) => q !== this);
  }

  /** @internal called by the bus on each publish of one of its topics. */
  offer(msg: BusMessage): void {
    if (this.closed) return;
    const dropped = this.queue.offer(msg);
    if (dropped !== undefined) this.#countDrop(dropped.topic);
    this.schedule();
  }

  override waitForRoom(): Promise<void> {
    if (!this.queue.full || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  protected next(): BusMessage | undefined {
    const msg = this.queue.take();
    if (msg !== undefined && this.#waiters.length > 0) this.#wakeWaiters();
    return msg;
  }

  protected discardQueued(): void {
    for (const dropped of this.queue.clear()) this.#countDrop(dropped.topic);
    this.#wakeWaiters();
  }

  #countDrop(topic: string): void {
    this.#dropsByTopic.set(topic, (this.#dropsByTopic.get(topic) ?? 0) + 1);
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
