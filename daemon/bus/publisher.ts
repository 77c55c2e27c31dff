import { nowNs } from '../util/index.ts';
import type { Bus } from './bus.ts';
import { BusError } from './errors.ts';
import type { TopicRecord } from './topic-record.ts';
import type { BusMessage } from './types.ts';

/** A publisher's handle on one advertised topic. */
export class Publisher {
  readonly topic: string;
  readonly type: string;
  readonly source: string;
  #bus: Bus;
  #record: TopicRecord;
  #closed = false;

  /** @internal use `bus.advertise`. */
  constructor(bus: Bus, record: TopicRecord, source: string) {
    this.#bus = bus;
    this.#record = record;
    this.topic = record.topic;
    this.type = record.type;
    this.source = source;
  }

  /** Publishes CDR bytes. Never blocks and never throws because of a subscriber. */
  publish(data: Uint8Array, publishTime?: bigint): BusMessage {
    if (this.#closed) throw new BusError(`publisher of ${this.topic} is closed`);
    const logTime = nowNs();
    const msg: BusMessage = {
      topic: this.topic,
      type: this.type,
      data,
      logTime,
      publishTime: publishTime ?? logTime,
      source: this.source,
    };
    this.#bus.deliver(this.#record, msg);
    return msg;
  }

  /** For in-process producers: waits for room in every `block` subscriber before publishing. */
  async publishAsync(data: Uint8Array, publishTime?: bigint): Promise<BusMessage> {
    for (const sub of this.#record.subs) {
      if (sub.queue.policy === 'block') await sub.waitForRoom();
    }
    return this.publish(data, publishTime);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#record.publishers--;
    const left = (this.#record.sources.get(this.source) ?? 1) - 1;
    if (left > 0) this.#record.sources.set(this.source, left);
    else this.#record.sources.delete(this.source);
  }
}
