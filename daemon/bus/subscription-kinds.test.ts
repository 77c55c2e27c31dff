import { describe, expect, it } from 'vitest';
import { Bus, type Subscription } from './bus.ts';
import type { QueuePolicy, SubscriberCounters } from './types.ts';
import { seededRandom } from '../util/seeded-random.ts';

// Random scenarios on one topic, checked against a model of the documented queue semantics written here
// from scratch: each subscriber has a FIFO of `depth` that drops its oldest on overflow (keep-latest: depth
// 1), a late subscriber of a transient_local topic is offered the last message first, and what is queued
// when a subscriber leaves counts as dropped. The same scenario runs twice: with exact-topic subscribers
// (which read the topic's shared ring) and with glob subscribers (each with a queue of its own); both must
// match the model message for message and counter for counter.

const TYPE = 'std_msgs/msg/String';

/** The model of one subscriber. */
class ModelSubscriber {
  readonly fifo: number[] = [];
  readonly counters: SubscriberCounters = { received: 0, delivered: 0, dropped: 0, queued: 0 };
  readonly seen: number[] = [];
  busy = false;
  left = false;
  constructor(readonly depth: number) {}

  offer(n: number): void {
    if (this.left) return;
    this.counters.received++;
    this.fifo.push(n);
    if (this.fifo.length > this.depth) {
      this.fifo.shift();
      this.counters.dropped++;
    }
    this.counters.queued = this.fifo.length;
  }

  /** Takes the next message for the handler, as the bus would. */
  take(): number | undefined {
    const n = this.fifo.shift();
    if (n === undefined) return undefined;
    this.counters.delivered++;
    this.counters.queued = this.fifo.length;
    this.seen.push(n);
    return n;
  }

  leave(): void {
    this.left = true;
    this.counters.dropped += this.fifo.length;
    this.fifo.length = 0;
    this.counters.queued = 0;
  }
}

interface Actor {
  model: ModelSubscriber;
  sub: Subscription;
  seen: number[];
  /** Whether the handler blocks on its next message until released. */
  blocks: boolean;
  throws: boolean;
  release: (() => void) | undefined;
}

type Step =
  | { kind: 'publish'; count: number }
  | { kind: 'run' }
  | { kind: 'release'; actor: number }
  | { kind: 'subscribe'; policy: QueuePolicy; depth: number; blocks: boolean; throws: boolean }
  | { kind: 'leave'; actor: number };

function scenario(seed: number): { latched: boolean; steps: Step[] } {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const steps: Step[] = [];
  const subscribe = (): Step => {
    const policy: QueuePolicy = random() < 0.3 ? 'keep-latest' : 'drop-oldest';
    return { kind: 'subscribe', policy, depth: policy === 'keep-latest' ? 1 : 1 + int(20), blocks: random() < 0.4, throws: random() < 0.15 };
  };
  for (let i = 0; i < 3; i++) steps.push(subscribe());
  for (let i = 0; i < 60; i++) {
    const r = random();
    if (r < 0.4) steps.push({ kind: 'publish', count: 1 + int(30) });
    else if (r < 0.65) steps.push({ kind: 'run' });
    else if (r < 0.85) steps.push({ kind: 'release', actor: int(8) });
    else if (r < 0.95) steps.push(subscribe());
    else steps.push({ kind: 'leave', actor: int(8) });
  }
  return { latched: random() < 0.5, steps };
}

/** Runs a scenario on a real bus and on the model, step by step, comparing them after every step. */
async function play(seed: number, glob: boolean): Promise<{ seen: number[][]; topicDrops: number }> {
  const { latched, steps } = scenario(seed);
  const bus = new Bus();
  const pub = bus.advertise('/x', TYPE, { source: 't', qos: { durability: latched ? 'transient_local' : 'volatile' } });
  const actors: Actor[] = [];
  let next = 0;
  let last: number | undefined;
  const at = (step: number) => `seed ${seed} (${glob ? 'glob' : 'exact'}), step ${step}`;

  /** Delivers in the model what the bus delivers now: every idle subscriber takes until it blocks. */
  const runModel = () => {
    for (const actor of actors) {
      while (!actor.model.busy && !actor.model.left) {
        const n = actor.model.take();
        if (n === undefined) break;
        const threw = actor.throws && actor.model.seen.length % 3 === 0; // the handler's own rule, below
        if (actor.blocks && !threw) actor.model.busy = true;
      }
    }
  };

  try {
    for (const [i, step] of steps.entries()) {
      switch (step.kind) {
        case 'publish':
          for (let k = 0; k < step.count; k++) {
            const n = next++;
            pub.publish(new Uint8Array([0, 1, 0, 0, n & 0xff, n >> 8]));
            last = n;
            for (const actor of actors) actor.model.offer(n);
          }
          break;
        case 'run':
          await new Promise((resolve) => setImmediate(resolve));
          runModel();
          break;
        case 'release': {
          const actor = actors[step.actor];
          if (!actor?.release) break;
          actor.release();
          actor.release = undefined;
          actor.model.busy = false;
          await new Promise((resolve) => setImmediate(resolve));
          runModel();
          break;
        }
        case 'subscribe': {
          const model = new ModelSubscriber(step.depth);
          const actor: Actor = { model, sub: undefined as never, seen: [], blocks: step.blocks, throws: step.throws, release: undefined };
          actor.sub = bus.subscribe({
            name: `s${actors.length}`,
            topic: glob ? '/x*' : '/x',
            queue: { policy: step.policy, depth: step.depth },
            handler: (m) => {
              actor.seen.push(m.data[4]! | (m.data[5]! << 8));
              if (actor.throws && actor.seen.length % 3 === 0) throw new Error('handler fault');
              if (actor.blocks) return new Promise<void>((resolve) => (actor.release = resolve));
            },
          });
          if (latched && last !== undefined) model.offer(last);
          actors.push(actor);
          break;
        }
        case 'leave': {
          const actor = actors[step.actor];
          if (!actor || actor.model.left) break;
          bus.unsubscribe(actor.sub);
          actor.model.leave();
          break;
        }
      }
      for (const [a, actor] of actors.entries()) {
        expect(actor.seen, `${at(i)}, subscriber ${a}: messages`).toEqual(actor.model.seen);
        expect(actor.sub.counters, `${at(i)}, subscriber ${a}: counters`).toEqual(actor.model.counters);
      }
      const drops = actors.reduce((n, actor) => n + actor.model.counters.dropped, 0);
      expect(bus.stats().find((t) => t.topic === '/x')!.drops, `${at(i)}: topic drops`).toBe(drops);
    }
    return { seen: actors.map((a) => a.seen), topicDrops: bus.stats().find((t) => t.topic === '/x')!.drops };
  } finally {
    for (const actor of actors) actor.release?.();
    bus.close();
  }
}

describe('subscriber kinds against a model of the queue policies', () => {
  const seeds = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233];

  it.each(seeds)('seed %i: exact-topic (shared ring) and glob (own queue) subscribers both match the model', async (seed) => {
    const exact = await play(seed, false);
    const glob = await play(seed, true);
    expect(exact).toEqual(glob);
    expect(exact.seen.flat().length).toBeGreaterThan(0);
  });

  it('covers drops, latched replay and subscribers that leave across the seeds', async () => {
    let drops = 0;
    for (const seed of seeds.slice(0, 4)) drops += (await play(seed, false)).topicDrops;
    expect(drops).toBeGreaterThan(0);
    const kinds = new Set(seeds.flatMap((seed) => scenario(seed).steps.map((s) => s.kind)));
    expect([...kinds].sort()).toEqual(['leave', 'publish', 'release', 'run', 'subscribe']);
    expect(seeds.some((seed) => scenario(seed).latched)).toBe(true);
    expect(seeds.some((seed) => !scenario(seed).latched)).toBe(true);
  });
});
