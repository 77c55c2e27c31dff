import type { Logger } from 'pino';
import { rateLimitedErrors } from '../../daemon/util/index.ts';

/**
 * The most graph topics the bridge declares subscribers for (zenoh.max_bridged_topics). A topic past it is not
 * bridged and waits for room: each one is counted once when first refused, and the refusals are logged at a
 * bounded rate, so a peer announcing thousands of topics costs a counter, not thousands of declarations and
 * log lines. A topic bridged at last, or gone, is released.
 */
export class TopicCap {
  readonly max: number;
  /** Topics refused since the start, each counted when it first had to wait. */
  refusals = 0;
  #waiting = new Set<string>();
  #log: ReturnType<typeof rateLimitedErrors>;

  constructor(options: { max: number; log: Logger }) {
    const { max, log } = options;
    this.max = max;
    this.#log = rateLimitedErrors(log, { first: 1 });
  }

  /** Whether `bridged` topics leave room for one more. */
  hasRoom(bridged: number): boolean {
    return bridged < this.max;
  }

  refuse(topic: string): void {
    if (this.#waiting.has(topic)) return;
    this.#waiting.add(topic);
    this.refusals++;
    this.#log(
      'cap',
      { topic, max_bridged_topics: this.max, refusals: this.refusals },
      `zenoh: graph topic ${topic} not bridged: zenoh.max_bridged_topics (${this.max}) topics are bridged already; raise it, or narrow zenoh.topics and recorder.include, or keep the peer that announces them off the router (docs/bridges.md, access_control)`,
    );
  }

  release(topic: string): void {
    this.#waiting.delete(topic);
  }

  /** Topics waiting now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  details(bridged: number): Record<string, number> {
    return { bridged, max: this.max, waiting: this.#waiting.size, refusals: this.refusals };
  }
}
