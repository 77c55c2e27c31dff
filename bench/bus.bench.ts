import { EventEmitter } from 'node:events';
import { Bus } from '../daemon/bus/index.ts';
import { nowNs } from '../daemon/util/index.ts';
import { percentile, type BenchResult } from './bench.ts';

// Bus throughput and latency for 100 B messages, beside a bare EventEmitter delivering the same buffers
// in the same run. Both are driven the same way: bursts of BURST publishes, then one await, so the bus's
// per-subscriber queues (depth BURST) never overflow and every message is delivered.

const MESSAGES = 2_000_000;
const BURST = 1000;
const LATENCY_SAMPLES = 50_000;
const payload = new Uint8Array(100);

async function busThroughput(subscribers: number): Promise<number> {
  const bus = new Bus();
  let delivered = 0;
  for (let i = 0; i < subscribers; i++) {
    bus.subscribe({
      name: `s${i}`,
      topic: '/bench',
      queue: { policy: 'drop-oldest', depth: BURST },
      handler: () => void delivered++,
    });
  }
  const pub = bus.advertise('/bench', 'std_msgs/msg/ByteMultiArray', { source: 'bench' });
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < MESSAGES; sent += BURST) {
    for (let i = 0; i < BURST; i++) pub.publish(payload);
    await null;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const dropped = bus.subscriptions().reduce((n, s) => n + s.counters.dropped, 0);
  bus.close();
  if (delivered !== MESSAGES * subscribers || dropped !== 0)
    throw new Error(`bus delivered ${delivered}, dropped ${dropped}`);
  return MESSAGES / seconds;
}

async function emitterThroughput(subscribers: number): Promise<number> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let delivered = 0;
  for (let i = 0; i < subscribers; i++) emitter.on('bench', () => void delivered++);
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < MESSAGES; sent += BURST) {
    for (let i = 0; i < BURST; i++) emitter.emit('bench', payload);
    await null;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (delivered !== MESSAGES * subscribers) throw new Error(`emitter delivered ${delivered}`);
  return MESSAGES / seconds;
}

/**
 * The same EventEmitter, but emitting what the bus delivers: a message object stamped with the ns
 * wall-clock time (nowNs). It isolates the bus's own cost (queues, counters, stats) from the clock read,
 * which costs 40-50 ns on this VM (one process.hrtime.bigint() and a BigInt add) and which a bare
 * EventEmitter never pays.
 */
async function stampedEmitterThroughput(subscribers: number): Promise<number> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let delivered = 0;
  for (let i = 0; i < subscribers; i++) emitter.on('bench', () => void delivered++);
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < MESSAGES; sent += BURST) {
    for (let i = 0; i < BURST; i++) {
      const logTime = nowNs();
      emitter.emit('bench', {
        topic: '/bench',
        type: 'std_msgs/msg/ByteMultiArray',
        data: payload,
        logTime,
        publishTime: logTime,
        source: 'bench',
      });
    }
    await null;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (delivered !== MESSAGES * subscribers) throw new Error(`emitter delivered ${delivered}`);
  return MESSAGES / seconds;
}

/** Publish-to-delivery latency, one message at a time, in microseconds (sorted). */
async function busLatency(): Promise<Float64Array> {
  const bus = new Bus();
  const samples = new Float64Array(LATENCY_SAMPLES);
  let t0 = 0n;
  let i = 0;
  bus.subscribe({
    name: 'lat',
    topic: '/bench',
    queue: { policy: 'drop-oldest', depth: 10 },
    handler: () => void (samples[i] = Number(process.hrtime.bigint() - t0) / 1000),
  });
  const pub = bus.advertise('/bench', 'std_msgs/msg/ByteMultiArray', { source: 'bench' });
  for (i = 0; i < LATENCY_SAMPLES; i++) {
    t0 = process.hrtime.bigint();
    pub.publish(payload);
    await null;
  }
  bus.close();
  return samples.sort();
}

async function emitterLatency(): Promise<Float64Array> {
  const emitter = new EventEmitter();
  const samples = new Float64Array(LATENCY_SAMPLES);
  let t0 = 0n;
  let i = 0;
  emitter.on('bench', () => void (samples[i] = Number(process.hrtime.bigint() - t0) / 1000));
  for (i = 0; i < LATENCY_SAMPLES; i++) {
    t0 = process.hrtime.bigint();
    emitter.emit('bench', payload);
    await null;
  }
  return samples.sort();
}

/** The better of three runs of each, interleaved, so neither side pays for the other's warm-up or GC. */
async function best(fn: () => Promise<number>, runs = 3): Promise<number> {
  let top = 0;
  for (let r = 0; r < runs; r++) top = Math.max(top, await fn());
  return top;
}

export async function run(): Promise<BenchResult[]> {
  await busThroughput(1); // warm-up: JIT both paths before measuring
  await emitterThroughput(1);
  const results: BenchResult[] = [];
  for (const subs of [1, 8]) {
    const ours = await best(() => busThroughput(subs));
    const baseline = await best(() => emitterThroughput(subs));
    const stamped = await best(() => stampedEmitterThroughput(subs));
    results.push({
      name: `bus throughput, 100 B, ${subs} subscriber${subs > 1 ? 's' : ''} (msgs published/s, each delivered to all)`,
      ours,
      baseline: { name: 'EventEmitter', value: baseline },
      unit: 'msg/s',
      better: 'higher',
      goal: subs === 1 ? '>= 1,000,000 msg/s and >= 0.5x EventEmitter' : '>= 0.5x EventEmitter',
      met: subs === 1 ? ours >= 1_000_000 && ours / baseline >= 0.5 : ours / baseline >= 0.5,
    });
    results.push({
      name: `  same, against an EventEmitter emitting stamped messages (${subs} sub${subs > 1 ? 's' : ''})`,
      ours,
      baseline: { name: 'EventEmitter + nowNs()', value: stamped },
      unit: 'msg/s',
      better: 'higher',
      notes: [
        `${subs} subscriber(s): bare EventEmitter ${(1e9 / baseline).toFixed(1)} ns/msg, + ns timestamp ${(1e9 / stamped).toFixed(1)} ns/msg, bus ${(1e9 / ours).toFixed(1)} ns/msg`,
      ],
    });
  }
  const ours = await busLatency();
  const baseline = await emitterLatency();
  results.push({
    name: 'bus publish-to-delivery latency, 100 B, p99',
    ours: percentile(ours, 99),
    baseline: { name: 'EventEmitter', value: percentile(baseline, 99) },
    unit: 'us',
    better: 'lower',
    goal: 'p99 < 50 us',
    met: percentile(ours, 99) < 50,
    notes: [
      `bus p50 ${percentile(ours, 50).toFixed(2)} us, p99 ${percentile(ours, 99).toFixed(2)} us, p99.9 ${percentile(ours, 99.9).toFixed(2)} us, max ${ours[ours.length - 1]!.toFixed(1)} us`,
      `EventEmitter p50 ${percentile(baseline, 50).toFixed(2)} us, p99 ${percentile(baseline, 99).toFixed(2)} us (synchronous delivery)`,
    ],
  });
  return results;
}
