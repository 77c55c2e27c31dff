import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bus } from './bus.ts';
import { QueryError } from './errors.ts';
import type { BusMessage } from './types.ts';
import { tick } from '../../test/helpers/wait.ts';
import { errorText } from '../util/index.ts';

const TYPE = 'std_msgs/msg/String';
const bytes = (n: number) => new Uint8Array([0, 1, 0, 0, n & 0xff]);

let bus: Bus;
afterEach(() => bus?.close());

describe('Bus topics', () => {
  it('delivers in order to every subscriber, after the publisher returns', async () => {
    bus = new Bus();
    const pub = bus.advertise('/chatter', TYPE, { source: 'test' });
    const a: number[] = [];
    const b: number[] = [];
    bus.subscribe({ name: 'a', topic: '/chatter', handler: (m) => void a.push(m.data[4]!) });
    bus.subscribe({ name: 'b', topic: '/chatter', handler: (m) => void b.push(m.data[4]!) });
    for (let i = 0; i < 5; i++) pub.publish(bytes(i));
    expect(a).toEqual([]); // never re-entered synchronously
    await tick();
    expect(a).toEqual([0, 1, 2, 3, 4]);
    expect(b).toEqual([0, 1, 2, 3, 4]);
  });

  it('stamps messages with type, source, logTime and publishTime in ns', async () => {
    bus = new Bus();
    const pub = bus.advertise('/chatter', TYPE, { source: 'sim' });
    const got: BusMessage[] = [];
    bus.subscribe({ name: 'a', topic: '/chatter', handler: (m) => void got.push(m) });
    const before = BigInt(Date.now()) * 1_000_000n;
    pub.publish(bytes(1), 42n);
    await tick();
    expect(got[0]).toMatchObject({ topic: '/chatter', type: TYPE, source: 'sim', publishTime: 42n });
    expect(got[0]!.logTime).toBeGreaterThanOrEqual(before - 2_000_000n);
  });

  it('refuses a second type on a topic, and any topic that is not a fully qualified ROS 2 name', () => {
    bus = new Bus();
    bus.advertise('/x', TYPE, { source: 't' });
    expect(() => bus.advertise('/x', 'std_msgs/msg/Int32', { source: 't' })).toThrow(/carries std_msgs\/msg\/String/);
    expect(() => bus.advertise('x', TYPE, { source: 't' })).toThrow(/not absolute/);
    // Each a second spelling of /x that would otherwise be a topic of its own, beside the one the checks know.
    for (const [spelling, rule] of [
      ['/x/', /ends with a forward slash/],
      ['//x', /repeated forward slashes/],
      ['/x ', /U\+0020/],
      ['/./x', /U\+002E/],
      ['~/x', /not absolute/],
      ['/x/~', /U\+007E/],
      ['/\u0445', /U\+0445/],
    ] as const) {
      expect(() => bus.advertise(spelling, TYPE, { source: 't' }), spelling).toThrow(rule);
      expect(bus.topicType(spelling)).toBeUndefined();
    }
  });

  it('attaches glob subscribers to topics that appear later, and exact ones subscribed before the topic exists', async () => {
    bus = new Bus();
    const glob: string[] = [];
    const exact: string[] = [];
    bus.subscribe({ name: 'rec', topic: '/camera/**', handler: (m) => void glob.push(m.topic) });
    bus.subscribe({ name: 'early', topic: '/late', handler: (m) => void exact.push(m.topic) });
    bus.advertise('/camera/left/image_raw', TYPE, { source: 't' }).publish(bytes(1));
    bus.advertise('/camera/info', TYPE, { source: 't' }).publish(bytes(1));
    bus.advertise('/cameras', TYPE, { source: 't' }).publish(bytes(1));
    bus.advertise('/late', TYPE, { source: 't' }).publish(bytes(1));
    await tick();
    expect(glob).toEqual(['/camera/left/image_raw', '/camera/info']);
    expect(exact).toEqual(['/late']);
  });

  it('replays the last message of a transient_local topic to late subscribers (latching)', async () => {
    bus = new Bus();
    const pub = bus.advertise('/map', TYPE, { source: 't', qos: { durability: 'transient_local' } });
    pub.publish(bytes(1));
    pub.publish(bytes(2));
    const got: number[] = [];
    bus.subscribe({ name: 'late', topic: '/map', handler: (m) => void got.push(m.data[4]!) });
    await tick();
    expect(got).toEqual([2]);
  });

  it('keeps a subscriber that throws from hurting the publisher or the others, and reports it', async () => {
    const errors: string[] = [];
    bus = new Bus({ onHandlerError: (sub, topic, e) => errors.push(`${sub} ${topic} ${errorText(e)}`) });
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const ok: number[] = [];
    const bad = bus.subscribe({
      name: 'bad',
      topic: '/x',
      handler: () => {
        throw new Error('boom');
      },
    });
    bus.subscribe({ name: 'ok', topic: '/x', handler: (m) => void ok.push(m.data[4]!) });
    pub.publish(bytes(1));
    pub.publish(bytes(2));
    await tick();
    expect(ok).toEqual([1, 2]);
    expect(bad.errors).toBe(2);
    expect(errors).toEqual(['bad /x boom', 'bad /x boom']);
  });
});

describe('Bus queues and drop policies', () => {
  /** A subscriber whose handler blocks until released, so its queue fills. */
  function slowSubscriber(policy: 'keep-latest' | 'drop-oldest' | 'drop-newest', depth: number) {
    const got: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sub = bus.subscribe({
      name: `slow-${policy}`,
      topic: '/x',
      queue: { policy, depth },
      handler: async (m) => {
        got.push(m.data[4]!);
        await gate;
      },
    });
    return { got, release, sub };
  }

  it('drop-oldest keeps the newest `depth` messages and counts each drop', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const s = slowSubscriber('drop-oldest', 3);
    pub.publish(bytes(0));
    await tick(); // 0 is in the handler, which now blocks
    for (let i = 1; i <= 10; i++) pub.publish(bytes(i));
    s.release();
    await tick();
    await tick();
    expect(s.got).toEqual([0, 8, 9, 10]);
    expect(s.sub.counters).toMatchObject({ received: 11, delivered: 4, dropped: 7, queued: 0 });
    expect(bus.stats().find((t) => t.topic === '/x')!.drops).toBe(7);
  });

  it('drop-newest keeps the queued prefix and drops what arrives when full', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const s = slowSubscriber('drop-newest', 3);
    pub.publish(bytes(0));
    await tick();
    for (let i = 1; i <= 10; i++) pub.publish(bytes(i));
    s.release();
    await tick();
    await tick();
    expect(s.got).toEqual([0, 1, 2, 3]);
    expect(s.sub.counters.dropped).toBe(7);
  });

  it('keep-latest conflates to the newest message', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const s = slowSubscriber('keep-latest', 50);
    pub.publish(bytes(0));
    await tick();
    for (let i = 1; i <= 10; i++) pub.publish(bytes(i));
    s.release();
    await tick();
    await tick();
    expect(s.got).toEqual([0, 10]);
    expect(s.sub.counters).toMatchObject({ received: 11, delivered: 2, dropped: 9 });
  });

  it('block makes publishAsync wait for room, while plain publish drops and counts', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const got: number[] = [];
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const sub = bus.subscribe({
      name: 'blocking',
      topic: '/x',
      queue: { policy: 'block', depth: 2 },
      handler: async (m) => {
        got.push(m.data[4]!);
        await gate;
      },
    });
    pub.publish(bytes(0));
    await tick();
    await pub.publishAsync(bytes(1));
    await pub.publishAsync(bytes(2));
    let third = false;
    const pending = pub.publishAsync(bytes(3)).then(() => (third = true));
    await tick();
    expect(third).toBe(false); // the queue is full: the in-process producer waits
    pub.publish(bytes(99)); // an adapter's publish never waits: dropped and counted
    expect(sub.counters.dropped).toBe(1);
    release();
    gate = Promise.resolve();
    await pending;
    await tick();
    await tick();
    expect(got).toEqual([0, 1, 2, 3]);
  });

  it('reports per-topic stats: count, bytes, drops, and a rate', async () => {
    bus = new Bus({ rateWindowMs: 50 });
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    for (let i = 0; i < 10; i++) pub.publish(bytes(i));
    // The rate shows once the window rolls over (and reads 0 again after the next, empty, window): waited for,
    // not slept for, since on a loaded machine a fixed sleep may end before the first roll or after the second.
    // Polled more often than the window, so the reading between the two rolls is seen.
    const s = await vi.waitFor(
      () => {
        const topic = bus.stats().find((t) => t.topic === '/x')!;
        expect(topic.rateHz).toBeGreaterThan(0);
        return topic;
      },
      { timeout: 20_000, interval: 5 },
    );
    expect(s).toMatchObject({ count: 10, bytes: 50, publishers: 1, drops: 0 });
  });

  it("counts a glob subscriber's drops against the topic each dropped message was on, and keeps them after it leaves", async () => {
    bus = new Bus();
    const a = bus.advertise('/a', TYPE, { source: 't' });
    const b = bus.advertise('/b', TYPE, { source: 't' });
    const sub = bus.subscribe({
      name: 'rec',
      topic: '/*',
      queue: { policy: 'drop-newest', depth: 2 },
      handler: () => {},
    });
    a.publish(bytes(1));
    a.publish(bytes(2));
    a.publish(bytes(3)); // dropped: /a
    b.publish(bytes(4)); // dropped: /b
    b.publish(bytes(5)); // dropped: /b
    const drops = () => Object.fromEntries(bus.stats().map((t) => [t.topic, t.drops]));
    expect(drops()).toEqual({ '/a': 1, '/b': 2 });
    bus.unsubscribe(sub); // the two still queued (both /a) count as dropped, and nothing goes backwards
    expect(drops()).toEqual({ '/a': 3, '/b': 2 });
  });

  it('counts what was still queued when a subscriber closes as dropped', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const sub = bus.subscribe({ name: 's', topic: '/x', handler: () => {} });
    pub.publish(bytes(1));
    pub.publish(bytes(2));
    bus.unsubscribe(sub);
    expect(sub.counters).toMatchObject({ received: 2, delivered: 0, dropped: 2, queued: 0 });
  });
});

describe('Bus queries', () => {
  const req = (text: string) => ({ encoding: 'text/plain', payload: new TextEncoder().encode(text) });

  it('routes a request to the handler serving the name and returns its reply', async () => {
    bus = new Bus();
    bus.serve('ai/inference/echo', async (r) => ({ encoding: r.encoding, payload: r.payload.slice().reverse() }));
    const reply = await bus.query('ai/inference/echo', req('abc'));
    expect(new TextDecoder().decode(reply.payload)).toBe('cba');
  });

  it('fails with a named code when nothing serves, the handler throws, or it is too slow', async () => {
    bus = new Bus();
    await expect(bus.query('nope', req('x'))).rejects.toMatchObject({ code: 'no_queryable' });
    bus.serve('bad', async () => {
      throw new Error('wrong shape');
    });
    await expect(bus.query('bad', req('x'))).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringMatching(/wrong shape/),
    });
    let aborted = false;
    bus.serve(
      'slow',
      (_r, signal) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve(req('late'));
          }),
        ),
    );
    const err = await bus.query('slow', req('x'), { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).code).toBe('timeout');
    expect(aborted).toBe(true);
  });

  it('serves one handler per name', () => {
    bus = new Bus();
    const stop = bus.serve('q', async (r) => r);
    expect(() => bus.serve('q', async (r) => r)).toThrow(/already served/);
    stop();
    expect(() => bus.serve('q', async (r) => r)).not.toThrow();
  });
});

describe('Bus exact-topic subscribers sharing the topic ring', () => {
  /** A subscriber that records what it gets, and blocks in its handler while `hold` is set. */
  function reader(name: string, queue: { policy: 'drop-oldest' | 'keep-latest'; depth: number }) {
    const got: number[] = [];
    let release: () => void = () => {};
    const state = { hold: false };
    const sub = bus.subscribe({
      name,
      topic: '/x',
      queue,
      handler: (m) => {
        got.push(m.data[4]!);
        if (state.hold) return new Promise<void>((r) => (release = r));
      },
    });
    return { got, sub, state, release: () => release() };
  }
  const balanced = (c: { received: number; delivered: number; dropped: number; queued: number }) =>
    c.received === c.delivered + c.dropped + c.queued;

  it('gives each subscriber its own depth and position: a slow one keeps its newest `depth`, a fast one misses nothing', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const slow = reader('slow', { policy: 'drop-oldest', depth: 5 });
    const fast = reader('fast', { policy: 'drop-oldest', depth: 2 });
    const deep = reader('deep', { policy: 'drop-oldest', depth: 40 });
    slow.state.hold = true;
    deep.state.hold = true;
    pub.publish(bytes(0));
    await tick(); // slow and deep hold message 0 in their handlers
    for (let i = 1; i <= 30; i++) {
      pub.publish(bytes(i));
      if (i % 2 === 0) await tick(); // fast keeps up: never more than 2 behind
    }
    // Drops are counted as soon as a subscriber is more than its depth behind, before it runs again.
    expect(slow.sub.counters).toEqual({ received: 31, delivered: 1, dropped: 25, queued: 5 });
    expect(deep.sub.counters).toEqual({ received: 31, delivered: 1, dropped: 0, queued: 30 });
    expect(bus.stats().find((t) => t.topic === '/x')!.drops).toBe(25);
    slow.state.hold = false;
    deep.state.hold = false;
    slow.release();
    deep.release();
    await tick();
    expect(fast.got).toEqual(Array.from({ length: 31 }, (_, i) => i));
    expect(slow.got).toEqual([0, 26, 27, 28, 29, 30]);
    expect(deep.got).toEqual(Array.from({ length: 31 }, (_, i) => i));
    for (const s of [slow, fast, deep]) expect(balanced(s.sub.counters)).toBe(true);
    expect(fast.sub.counters).toEqual({ received: 31, delivered: 31, dropped: 0, queued: 0 });
  });

  it('starts a subscriber that joins mid-stream at the next message', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const early = reader('early', { policy: 'drop-oldest', depth: 10 });
    pub.publish(bytes(1));
    pub.publish(bytes(2));
    const late = reader('late', { policy: 'drop-oldest', depth: 10 });
    pub.publish(bytes(3));
    await tick();
    expect(early.got).toEqual([1, 2, 3]);
    expect(late.got).toEqual([3]);
    expect(late.sub.counters).toEqual({ received: 1, delivered: 1, dropped: 0, queued: 0 });
  });

  it('delivers a latched message first, or drops it when `depth` newer ones arrive before the subscriber runs', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't', qos: { durability: 'transient_local' } });
    pub.publish(bytes(7));
    const fifo = reader('fifo', { policy: 'drop-oldest', depth: 3 });
    const latest = reader('latest', { policy: 'keep-latest', depth: 1 });
    pub.publish(bytes(8));
    await tick();
    expect(fifo.got).toEqual([7, 8]);
    expect(latest.got).toEqual([8]);
    expect(latest.sub.counters).toEqual({ received: 2, delivered: 1, dropped: 1, queued: 0 });
    expect(fifo.sub.counters).toEqual({ received: 2, delivered: 2, dropped: 0, queued: 0 });
  });

  it('delivers in order what a handler publishes on its own topic', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const got: number[] = [];
    bus.subscribe({
      name: 'relay',
      topic: '/x',
      queue: { policy: 'drop-oldest', depth: 10 },
      handler: (m) => {
        got.push(m.data[4]!);
        if (m.data[4]! < 5) pub.publish(bytes(m.data[4]! + 1));
      },
    });
    pub.publish(bytes(0));
    await tick();
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('counts what a subscriber still owed as dropped when it leaves mid-handler, and the others carry on', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const leaving = reader('leaving', { policy: 'drop-oldest', depth: 4 });
    const staying = reader('staying', { policy: 'drop-oldest', depth: 4 });
    leaving.state.hold = true;
    pub.publish(bytes(0));
    await tick();
    for (let i = 1; i <= 6; i++) pub.publish(bytes(i));
    bus.unsubscribe(leaving.sub);
    leaving.release();
    pub.publish(bytes(7));
    await tick();
    expect(leaving.got).toEqual([0]);
    expect(leaving.sub.counters).toEqual({ received: 7, delivered: 1, dropped: 6, queued: 0 });
    expect(staying.got).toEqual([0, 4, 5, 6, 7]); // 7 behind with depth 4 by the time it ran
    expect(bus.stats().find((t) => t.topic === '/x')!.drops).toBe(6 + 3);
  });

  it('gives a subscriber deeper than the ring allows a queue of its own, with the same behaviour', async () => {
    bus = new Bus();
    const pub = bus.advertise('/x', TYPE, { source: 't' });
    const got: number[] = [];
    const sub = bus.subscribe({
      name: 'huge',
      topic: '/x',
      queue: { policy: 'drop-oldest', depth: 100_000 },
      handler: (m) => void got.push(m.data[4]!),
    });
    for (let i = 0; i < 3; i++) pub.publish(bytes(i));
    await tick();
    expect(got).toEqual([0, 1, 2]);
    expect(sub.counters).toEqual({ received: 3, delivered: 3, dropped: 0, queued: 0 });
  });
});

describe('a reserved topic', () => {
  it("refuses a publisher of a source it does not admit, saying why, and admits the robot's", () => {
    const bus = new Bus();
    const lift = bus.reserve('/joint_states', { allows: (source) => source === 'ros', why: 'only the robot' });
    expect(() => bus.advertise('/joint_states', 'sensor_msgs/msg/JointState', { source: 'agent' })).toThrow(
      'agent may not publish on /joint_states: only the robot',
    );
    bus.advertise('/joint_states', 'sensor_msgs/msg/JointState', { source: 'ros' }).close();
    lift();
    bus.advertise('/joint_states', 'sensor_msgs/msg/JointState', { source: 'agent' }).close();
    bus.close();
  });
});
