import { fullNameProblem } from '../names/index.ts';
import { errorText, withTimeout } from '../util/index.ts';
import { BusError, QueryError } from './errors.ts';
import { isTopicGlob } from './glob.ts';
import { Publisher } from './publisher.ts';
import { Subscription, type SubscribeOptions } from './subscription.ts';
import { newTopicRecord, type TopicRecord } from './topic-record.ts';
import { growRing, wakeSleepers } from './topic-ring.ts';
import type { BusMessage, QueryHandler, QueryPayload, TopicQos, TopicStats } from './types.ts';

export { Publisher } from './publisher.ts';
export { Subscription, type SubscribeOptions } from './subscription.ts';

export interface AdvertiseOptions {
  /** Who publishes (`sim`, `ros`, `zenoh`, ...). */
  source: string;
  qos?: Partial<TopicQos>;
}

/** Who may publish on a reserved topic, and what a refused publisher is told. */
export interface TopicReservation {
  allows: (source: string) => boolean;
  why: string;
}

export interface BusOptions {
  /** Called when a subscriber's handler throws or rejects; the bus itself never rethrows into a publisher. */
  onHandlerError?: (subscriber: string, topic: string, error: unknown) => void;
  /** Period of the rate window, ms. */
  rateWindowMs?: number;
}

const DEFAULT_QOS: TopicQos = { reliability: 'reliable', durability: 'volatile', depth: 10 };
/** The longest delay a Node timer keeps: a longer one fires after 1 ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The daemon's internal bus of ROS 2 messages as CDR bytes. Topics have one type each. Delivery is in
 * order per subscriber, through that subscriber's bounded queue, after the publisher's synchronous code
 * returns (a microtask), so a publisher is never re-entered by its own subscribers.
 *
 * Queries are request/reply on named services (`ai/inference/vla/<policy>`), with one handler per name.
 */
export class Bus {
  #topics = new Map<string, TopicRecord>();
  #globSubs: Subscription[] = [];
  #queryables = new Map<string, QueryHandler>();
  #onHandlerError: (subscriber: string, topic: string, error: unknown) => void;
  #rateTimer: NodeJS.Timeout;
  /** Monotonic (ms): a rate is per second of elapsed time, which a wall clock step must not bend. */
  #lastWindow = performance.now();
  #listeners = new Set<(topic: string, type: string) => void>();
  /** Topics only some sources may publish on (the robot's own: what it measures, what it is), and why. */
  #reserved = new Map<string, TopicReservation>();
  #closed = false;

  constructor(options: BusOptions = {}) {
    const { onHandlerError = () => {}, rateWindowMs = 1000 } = options;
    this.#onHandlerError = onHandlerError;
    this.#rateTimer = setInterval(() => this.#rollRateWindow(), rateWindowMs);
    this.#rateTimer.unref();
  }

  /**
   * Declares that `source` publishes `type` on `topic`. A topic keeps the type it first had: advertising
   * another type on it is an error, as it is in ROS 2.
   */
  advertise(topic: string, type: string, options: AdvertiseOptions): Publisher {
    this.#refuseIfClosed(`advertise ${topic}`);
    const reservation = this.#reserved.get(topic);
    if (reservation && !reservation.allows(options.source))
      throw new BusError(`${options.source} may not publish on ${topic}: ${reservation.why}`);
    const record = this.#topic(topic, type, options.qos);
    record.publishers++;
    record.sources.set(options.source, (record.sources.get(options.source) ?? 0) + 1);
    return new Publisher(this, record, options.source);
  }

  /**
   * Reserves `topic` for the sources `allows` admits: any other's advertise throws a BusError with `why`. Publishers
   * already advertised stay (a reservation is made before the doors open). Replaces the topic's reservation; returns
   * what lifts it (only this one).
   */
  reserve(topic: string, reservation: TopicReservation): () => void {
    this.#reserved.set(topic, reservation);
    return () => {
      if (this.#reserved.get(topic) === reservation) this.#reserved.delete(topic);
    };
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#refuseIfClosed(`subscribe to ${options.topic}`);
    const sub = Subscription.create(options, (topic, error) => this.#onHandlerError(options.name, topic, error));
    if (isTopicGlob(options.topic)) {
      this.#globSubs.push(sub);
      for (const record of this.#topics.values()) if (sub.matches(record.topic)) this.#attach(record, sub);
    } else {
      const record = this.#topics.get(options.topic);
      if (record) this.#attach(record, sub);
      else this.#pendingExact(sub);
    }
    return sub;
  }

  unsubscribe(sub: Subscription): void {
    sub.markClosed();
    this.#globSubs = this.#globSubs.filter((s) => s !== sub);
    this.#exactPending = this.#exactPending.filter((s) => s !== sub);
    for (const topic of sub.topics) {
      const record = this.#topics.get(topic);
      if (!record) continue;
      record.subs = record.subs.filter((s) => s !== sub);
      record.closedDrops += sub.drops(topic);
      sub.detach(record);
    }
  }

  /** Calls `listener` for each new topic (and once now for each existing one). Returns an unlisten function. */
  onTopic(listener: (topic: string, type: string) => void): () => void {
    this.#listeners.add(listener);
    for (const r of this.#topics.values()) listener(r.topic, r.type);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `listener(topic)` once, at the next publish on `topic` (an existing topic), before that message is
   * delivered: a subscription made in it receives that message. For a subscriber that lets a quiet topic go
   * (its subscription costs memory) and must have it back, from its first message, when it speaks again.
   * One listener may serve many topics; `offNextPublish` cancels it.
   */
  onNextPublish(topic: string, listener: (topic: string) => void): void {
    const record = this.#topics.get(topic);
    if (!record) throw new BusError(`onNextPublish: no topic ${topic}`);
    (record.onNextPublish ??= []).push(listener);
  }

  offNextPublish(topic: string, listener: (topic: string) => void): void {
    const record = this.#topics.get(topic);
    const waiting = record?.onNextPublish?.filter((l) => l !== listener);
    if (record) record.onNextPublish = waiting?.length ? waiting : undefined;
  }

  topicType(topic: string): string | undefined {
    return this.#topics.get(topic)?.type;
  }

  topicQos(topic: string): TopicQos | undefined {
    return this.#topics.get(topic)?.qos;
  }

  stats(): TopicStats[] {
    return [...this.#topics.values()].map((r) => ({
      topic: r.topic,
      type: r.type,
      publishers: r.publishers,
      sources: [...r.sources].flatMap(([source, n]) => Array.from({ length: n }, () => source)),
      qos: { ...r.qos },
      subscribers: r.subs.length,
      count: r.count,
      bytes: r.bytes,
      rateHz: r.rateHz,
      drops: r.closedDrops + r.subs.reduce((n, s) => n + s.drops(r.topic), 0),
      lastLogTime: r.lastLogTime,
    }));
  }

  /** Every subscription with its counters, for metrics. */
  subscriptions(): Subscription[] {
    const all = new Set<Subscription>(this.#globSubs);
    for (const r of this.#topics.values()) for (const s of r.subs) all.add(s);
    for (const s of this.#exactPending) all.add(s);
    return [...all];
  }

  /** Serves queries on `name`. Returns a function that stops serving. */
  serve(name: string, handler: QueryHandler): () => void {
    this.#refuseIfClosed(`serve query ${name}`);
    if (this.#queryables.has(name)) throw new BusError(`query ${name} is already served`);
    this.#queryables.set(name, handler);
    return () => {
      if (this.#queryables.get(name) === handler) this.#queryables.delete(name);
    };
  }

  queryables(): string[] {
    return [...this.#queryables.keys()];
  }

  /**
   * Sends a query and waits for its reply, at most `timeoutMs` (from 1 to 2^31-1). Rejects with a
   * QueryError, or a BusError for a timeout out of that range (Node would fire it after 1 ms).
   */
  async query(name: string, request: QueryPayload, options: { timeoutMs?: number } = {}): Promise<QueryPayload> {
    const { timeoutMs = 5000 } = options;
    if (!(timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new BusError(`query ${name}: its timeout must be from 1 to ${MAX_TIMEOUT_MS} ms, got ${timeoutMs}`);
    }
    const handler = this.#queryables.get(name);
    if (!handler) {
      const known = this.queryables();
      throw new QueryError(
        'no_queryable',
        `nothing serves query ${name}${known.length ? ` (served: ${known.join(', ')})` : ''}`,
      );
    }
    let reply: unknown;
    try {
      reply = await withTimeout(
        (signal) => handler(request, signal),
        timeoutMs,
        () => new QueryError('timeout', `query ${name} got no reply within ${timeoutMs} ms`),
      );
    } catch (error) {
      if (error instanceof QueryError) throw error;
      throw new QueryError('handler_error', `query ${name} failed: ${errorText(error)}`);
    }
    // Handlers are typed, but a plain JS one (or one resolving nothing) is caught here, naming the query.
    const { encoding, payload } = (reply ?? {}) as Partial<QueryPayload>;
    if (typeof encoding !== 'string' || !(payload instanceof Uint8Array)) {
      throw new QueryError(
        'handler_error',
        `query ${name} replied with ${reply === undefined ? 'nothing' : 'something'} that is not {encoding: string, payload: Uint8Array}`,
      );
    }
    return reply as QueryPayload;
  }

  /**
   * Stops the bus: subscribers get nothing more, queries are no longer served, and advertising,
   * subscribing, serving and publishing (with a publisher made before) throw a BusError from now on.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#rateTimer);
    for (const sub of this.subscriptions()) sub.markClosed();
    this.#queryables.clear();
    // Publishers reach the bus only through deliver. Replacing it on this instance refuses them without
    // a check on the hot path while the bus is open.
    this.deliver = () => {
      throw new BusError('the bus is closed: nothing can be published on it');
    };
  }

  /** @internal hot path: count, latch, fan out. */
  deliver(record: TopicRecord, msg: BusMessage): void {
    if (record.onNextPublish !== undefined) {
      const listeners = record.onNextPublish;
      record.onNextPublish = undefined;
      for (const listener of listeners) {
        try {
          listener(record.topic);
        } catch (error) {
          this.#onHandlerError('onNextPublish', record.topic, error); // never into the publisher
        }
      }
    }
    if (record.cursors.length > 0) {
      // The slot this message takes may still hold one a lagging reader is owed: make room first.
      if (record.count - record.released >= record.ring.length && record.ring.length < record.ringLimit)
        growRing(record);
      record.ring[record.count & record.mask] = msg;
      if (record.sleepers.length > 0) wakeSleepers(record);
    }
    record.count++;
    record.windowCount++;
    record.bytes += msg.data.byteLength;
    record.lastLogTime = msg.logTime;
    if (record.qos.durability === 'transient_local') record.latched = msg;
    if (record.retain) record.retained = msg;
    const queued = record.queued;
    for (let i = 0; i < queued.length; i++) queued[i]!.offer(msg);
  }

  #exactPending: Subscription[] = [];
  /** Topics whose last message is kept (retainLatest), also before they appear. */
  #retained = new Set<string>();

  /**
   * Keeps `topic`'s last message, to be read when asked (the operator's stop: where the robot was). Not a
   * subscriber: it shows in no topic's subscribers, is delivered nothing, and drops nothing. Returns the reader.
   */
  retainLatest(topic: string): () => BusMessage | undefined {
    this.#retained.add(topic);
    const record = this.#topics.get(topic);
    if (record) record.retain = true;
    // A latched topic's last message is kept anyway, also from before this call (a map_server's one /map).
    return () => {
      const kept = this.#topics.get(topic);
      return kept?.retained ?? kept?.latched;
    };
  }

  #refuseIfClosed(what: string): void {
    if (this.#closed) throw new BusError(`cannot ${what}: the bus is closed`);
  }

  #pendingExact(sub: Subscription): void {
    this.#exactPending.push(sub);
  }

  #topic(topic: string, type: string, qos: Partial<TopicQos> | undefined): TopicRecord {
    const existing = this.#topics.get(topic);
    if (existing) {
      if (existing.type !== type) {
        throw new BusError(`topic ${topic} carries ${existing.type}; cannot advertise it as ${type}`);
      }
      if (qos) existing.qos = { ...existing.qos, ...qos };
      return existing;
    }
    // Checked once, when the topic is made: every check downstream compares names as strings, so a second
    // spelling of a topic (`/cmd_vel/`, `//cmd_vel`) must never become a topic of its own.
    const problem = fullNameProblem(topic);
    if (problem)
      throw new BusError(`topic ${JSON.stringify(topic)} is not a fully qualified ROS 2 name: it ${problem}`);
    const record = newTopicRecord(topic, type, { ...DEFAULT_QOS, ...qos });
    record.retain = this.#retained.has(topic);
    this.#topics.set(topic, record);
    for (const sub of this.#globSubs) if (sub.matches(topic)) this.#attach(record, sub);
    const waiting = this.#exactPending.filter((s) => s.pattern === topic);
    if (waiting.length > 0) {
      this.#exactPending = this.#exactPending.filter((s) => s.pattern !== topic);
      for (const sub of waiting) this.#attach(record, sub);
    }
    for (const listener of this.#listeners) listener(topic, type);
    return record;
  }

  #attach(record: TopicRecord, sub: Subscription): void {
    record.subs = [...record.subs, sub];
    sub.attach(record);
  }

  #rollRateWindow(): void {
    const now = performance.now();
    const seconds = Math.max((now - this.#lastWindow) / 1000, 1e-3);
    this.#lastWindow = now;
    for (const r of this.#topics.values()) {
      r.rateHz = r.windowCount / seconds;
      r.windowCount = 0;
    }
  }
}
