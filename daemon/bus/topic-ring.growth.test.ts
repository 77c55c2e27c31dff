import { describe, expect, it } from 'vitest';
import { Bus } from './bus.ts';
import { Subscription } from './subscription.ts';
import { newTopicRecord, type TopicRecord } from './topic-record.ts';
import { MIN_RING } from './topic-ring.ts';
import type { BusMessage } from './types.ts';
import { tick } from '../../test/helpers/wait.ts';

// The ring a topic's cursor subscribers share grows only as messages back up: a recorder subscribes to
// every topic with depth 10,000, and a ring sized to that up front cost 130 KiB per topic before any message.
// The record is the bus's own (what Bus.#topic makes); publishing goes through Bus.deliver, as a Publisher's does.

function topic(): TopicRecord {
  return newTopicRecord('/x', 't', { reliability: 'reliable', durability: 'volatile', depth: 10 });
}
const message = (n: number) =>
  ({
    topic: '/x',
    type: 't',
    data: new Uint8Array([n & 255, n >> 8]),
    logTime: BigInt(n),
    publishTime: BigInt(n),
    source: 't',
  }) as BusMessage;
const seqOf = (m: BusMessage) => m.data[0]! + (m.data[1]! << 8);

function subscribe(record: TopicRecord, depth: number, handler: (m: BusMessage) => void | Promise<void>): Subscription {
  const sub = Subscription.create(
    { name: 's', topic: record.topic, queue: { policy: 'drop-oldest', depth }, handler },
    () => {},
  );
  record.subs = [...record.subs, sub];
  sub.attach(record);
  return sub;
}

describe('topic ring growth', () => {
  it('a deep subscriber that keeps up costs the smallest ring, however deep its queue', async () => {
    const bus = new Bus();
    const record = topic();
    const got: number[] = [];
    subscribe(record, 10_000, (m) => void got.push(seqOf(m)));
    expect(record.ring.length).toBe(MIN_RING);
    for (let i = 0; i < 1000; i++) {
      bus.deliver(record, message(i));
      await null; // the subscriber runs between publishes
    }
    await tick();
    expect(got.length).toBe(1000);
    expect(record.ring.length).toBe(MIN_RING);
    bus.close();
  });

  it('grows as messages back up, to what the backlog needs, and a lagging subscriber still gets its last `depth`', async () => {
    const bus = new Bus();
    const record = topic();
    const got: number[] = [];
    subscribe(record, 10_000, (m) => void got.push(seqOf(m)));
    for (let i = 0; i < 300; i++) bus.deliver(record, message(i)); // one burst: nothing read yet
    expect(record.ring.length).toBe(512);
    await tick();
    expect(got).toEqual([...Array(300).keys()]);

    // Depth 100 behind by 1,000: it is owed the newest 100, and the ring never grows past its depth's power of two.
    const shallow = topic();
    const got2: number[] = [];
    const sub = subscribe(shallow, 100, (m) => void got2.push(seqOf(m)));
    for (let i = 0; i < 1000; i++) bus.deliver(shallow, message(i));
    expect(shallow.ring.length).toBe(128);
    await tick();
    expect(got2).toEqual([...Array(100).keys()].map((i) => 900 + i));
    expect(sub.counters).toMatchObject({ received: 1000, delivered: 100, dropped: 900, queued: 0 });
    bus.close();
  });

  it('a slow subscriber (async handler) keeps its backlog while a fast one reads on', async () => {
    const bus = new Bus();
    const record = topic();
    const fast: number[] = [];
    const slow: number[] = [];
    let release: () => void = () => {};
    subscribe(record, 16, (m) => void fast.push(seqOf(m)));
    subscribe(record, 1000, (m) => {
      slow.push(seqOf(m));
      if (slow.length === 1) return new Promise<void>((r) => (release = r)); // holds the slow one at its first message
    });
    for (let i = 0; i < 200; i++) {
      bus.deliver(record, message(i));
      await null;
    }
    expect(fast.length).toBe(200);
    expect(slow).toEqual([0]);
    expect(record.ring.length).toBe(256);
    release();
    await tick();
    expect(slow).toEqual([...Array(200).keys()]);
    bus.close();
  });
});
