import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tick, waitFor } from '../../test/helpers/wait.ts';
import { Bus } from '../bus/bus.ts';
import type { BusMessage } from '../bus/types.ts';
import { parseMetadata } from '../bags/metadata.ts';
import { recorderFixture } from './recorder-fixture.ts';
import { TopicSubscriptions } from './topic-subscriptions.ts';

const { setup, readMcap, codec } = recorderFixture();
const HOUR = 3600_000;
const delivered = () => new Promise((r) => setImmediate(r));

describe('Recorder: topics that go quiet', () => {
  it('lets go of a topic silent for a split and more, and records it again from its first message back, its channel declared in the split it is in', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    // Splits of about 1 KiB (checked at each message), so /heartbeat soon has a split of its own.
    const { bus, recorder } = setup({ split_max_bytes: 1000 }, undefined, { now: () => clock });
    const run = bus.advertise('/run_1/pose', 'std_msgs/msg/String', {
      source: 'test',
      qos: { reliability: 'best_effort', depth: 7 },
    });
    const heartbeat = bus.advertise('/heartbeat', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    const sent: string[] = [];
    const say = (text: string) => {
      run.publish(codec.encode('std_msgs/msg/String', { data: text }));
      sent.push(text);
    };
    for (let i = 0; i < 3; i++) say(`before ${i}`);
    for (let i = 0; i < 40; i++) heartbeat.publish(codec.encode('std_msgs/msg/String', { data: 'x'.repeat(100) }));
    await tick();
    const recorderSubs = () => bus.subscriptions().filter((s) => s.name === 'recorder' && !s.closed).length;
    expect(recorderSubs()).toBe(2);

    // Time passes (the disk check sweeps every 20 ms here): /run_1/pose is let go, /heartbeat has a message
    // in the split being written and is kept.
    await waitFor(() => {
      clock += HOUR;
      return recorder.health().details!.quiet_topics === 1;
    }, 'the quiet topic to be let go');
    expect(recorder.health().details).toMatchObject({ topics: 1, quiet_topics: 1, messages: 43 });
    expect(recorderSubs()).toBe(1);
    expect(recorder.written()).toEqual({ '/heartbeat': 40 });

    // It speaks again: its first message back is recorded, then the rest.
    for (let i = 0; i < 3; i++) say(`after ${i}`);
    expect(recorder.health().details).toMatchObject({ topics: 2, quiet_topics: 0 });
    await tick();
    await recorder.close();

    const bag = recorder.bags[0]!;
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.topics.map((t) => [t.name, t.messageCount])).toEqual([
      ['/run_1/pose', 6],
      ['/heartbeat', 40],
    ]);
    expect(meta.customData).toEqual({});
    const got: string[] = [];
    const splitsWithIt: string[] = [];
    for (const file of meta.files) {
      const { reader, messages } = await readMcap(join(bag, file.path));
      const mine = messages.filter((m) => m.topic === '/run_1/pose');
      for (const m of mine) got.push(codec.decode('std_msgs/msg/String', m.data).data as string);
      if (mine.length === 0) continue;
      splitsWithIt.push(file.path);
      // Each split declares the channel it uses, with its schema and QoS, as the first split did.
      const channel = [...reader.channelsById.values()].find((c) => c.topic === '/run_1/pose')!;
      expect(reader.schemasById.get(channel.schemaId)!.name).toBe('std_msgs/msg/String');
      expect(channel.messageEncoding).toBe('cdr');
      expect(channel.metadata.get('offered_qos_profiles')).toMatch(/depth: 7\n[\s\S]*reliability: best_effort/);
      expect(channel.metadata.get('topic_type_hash')).toMatch(/^RIHS01_/);
    }
    expect(got).toEqual(sent);
    expect(splitsWithIt.length).toBe(2); // before and after: two splits, each with its own channel record
  });
});

describe('TopicSubscriptions', () => {
  let bus: Bus;
  afterEach(() => bus.close());

  it('lets go only of topics silent for the quiet time, not kept, not transient_local; one let go is back for its next message', async () => {
    bus = new Bus();
    let clock = 0;
    const got: BusMessage[] = [];
    const subs = new TopicSubscriptions({
      bus,
      name: 'recorder',
      queue: { policy: 'drop-oldest', depth: 100 },
      handler: (m) => void got.push(m),
      now: () => clock,
    });
    const pubs = ['/a', '/kept', '/latched', '/busy'].map((t) =>
      bus.advertise(t, 'std_msgs/msg/String', {
        source: 't',
        qos: t === '/latched' ? { durability: 'transient_local' } : {},
      }),
    );
    for (const p of pubs) subs.subscribe(p.topic);
    const data = new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 0]);

    clock = 999;
    for (const p of pubs) p.publish(data); // counted at the next sweep: quiet from then on
    await delivered();
    expect(subs.forgetQuiet(1000, (t) => t === '/kept')).toEqual([]);
    clock = 1998;
    pubs[3]!.publish(data);
    await delivered();
    expect(subs.forgetQuiet(1000, (t) => t === '/kept')).toEqual([]); // 999 ms quiet: not yet
    clock = 1999;
    expect(subs.forgetQuiet(1000, (t) => t === '/kept')).toEqual(['/a']);
    expect(subs.size).toBe(3);
    expect(subs.quietCount).toBe(1);
    expect(
      bus
        .subscriptions()
        .filter((s) => !s.closed)
        .map((s) => s.pattern),
    ).toEqual(['/kept', '/latched', '/busy']);

    got.length = 0;
    pubs[0]!.publish(new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 7]));
    expect(subs.size).toBe(4);
    expect(subs.quietCount).toBe(0);
    await delivered();
    expect(got.map((m) => [m.topic, m.data[8]])).toEqual([['/a', 7]]);
    expect(subs.drops()).toEqual(
      new Map([
        ['/a', 0],
        ['/kept', 0],
        ['/latched', 0],
        ['/busy', 0],
      ]),
    );
  });

  it("rests on the bus's onNextPublish hook: called once, before the message is delivered; one that throws is reported, never thrown at the publisher", () => {
    const errors: [string, string][] = [];
    bus = new Bus({ onHandlerError: (who, topic) => void errors.push([who, topic]) });
    const pub = bus.advertise('/a', 'std_msgs/msg/String', { source: 't' });
    const calls: string[] = [];
    bus.onNextPublish('/a', (topic) => {
      calls.push(`${topic} at ${bus.stats()[0]!.count}`);
      throw new Error('boom');
    });
    const cancelled = () => calls.push('cancelled one');
    bus.onNextPublish('/a', cancelled);
    bus.offNextPublish('/a', cancelled);
    pub.publish(new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 0]));
    pub.publish(new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 0]));
    expect(calls).toEqual(['/a at 0']);
    expect(errors).toEqual([['onNextPublish', '/a']]);
    expect(() => bus.onNextPublish('/none', () => {})).toThrow(/no topic \/none/);
  });

  it('keeps the queue drops of a topic it let go, and cancels the hooks of quiet topics when closed', async () => {
    bus = new Bus();
    let clock = 0;
    const subs = new TopicSubscriptions({
      bus,
      name: 'recorder',
      queue: { policy: 'drop-oldest', depth: 2 },
      handler: () => {},
      now: () => clock,
    });
    const a = bus.advertise('/a', 'std_msgs/msg/String', { source: 't' });
    const b = bus.advertise('/b', 'std_msgs/msg/String', { source: 't' });
    subs.subscribe('/a');
    subs.subscribe('/b');
    const data = new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 0]);
    for (let i = 0; i < 5; i++) a.publish(data); // one burst: 3 dropped
    b.publish(data);
    await delivered();
    subs.forgetQuiet(10, () => false);
    clock = 10;
    expect(subs.forgetQuiet(10, () => false).sort()).toEqual(['/a', '/b']);
    expect(subs.drops()).toEqual(new Map([['/a', 3]]));
    subs.closeAll();
    a.publish(data);
    expect(subs.size).toBe(0);
    expect(bus.subscriptions().length).toBe(0);
  });
});
