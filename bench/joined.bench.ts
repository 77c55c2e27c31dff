import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchResult } from './bench.ts';
import { percentile, tail } from './bench.ts';
import { arrivals, counted, DISTINCT, onBus, payloads, sorted } from './joined-probes.ts';
import { wallNs } from './zenoh-fairness.ts';
import { typeDescriptionHash } from '../daemon/bus/type-hash.ts';
import { startDaemon } from '../test/helpers/daemon.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { JOINED_DOMAINS, JoinedGraphs } from '../test/joined/joined-graphs.ts';
import { sleep } from '../daemon/util/index.ts';

// A relay between the two Zenoh sides (docs/joined-graphs.md): 100 B samples at 500 Hz from an rmw_zenoh-keyed
// Python publisher, through its router and remote-api bridge, the daemon's bus, its second link and the DDS side's
// bridge and router, to a zenoh-ts subscriber of the ros2dds key there. Beside it, in the same run, the two hops
// alone: the same publisher to the bus (hop 1), and the bus to the same subscriber (hop 2). Then the relay again
// with a 1 MB topic relayed at 10 Hz beside it (priority data_low: the bulk lanes), counted on the DDS side by a
// subscriber in a process of its own (its 1 MB decodes are not on this process's event loop, the daemon's).
const SMALL = 100;
const LARGE = 1024 * 1024;
const BYTES = 'std_msgs/msg/ByteMultiArray';
const SAMPLES = 2000;

export async function run(): Promise<BenchResult[]> {
  const graphs = await JoinedGraphs.start(JOINED_DOMAINS.bench);
  const relays = {
    topics: ['/hop2', '/relay', '/big'].map((topic) => ({ topic, from: 'rmw_zenoh', to: 'ros2dds' })),
  };
  const { daemon, stop } = await startDaemon(
    graphs.config(relays, { zenoh: { topics: ['/hop1'], topic_qos: [{ topic: '/big', priority: 'data_low' }] } }),
    'bench-joined-',
  );
  try {
    const state = (c: string) => daemon.status().components[c]?.state;
    await waitFor(() => state('zenoh') === 'running' && state('zenoh_second') === 'running', 'both links', 60_000);
    const hash = typeDescriptionHash(daemon.definitions, BYTES)!;
    const small = payloads(SMALL).map((p) => Buffer.from(p).toString('hex'));
    const publisher = (topic: string, rate_hz: number, hex: string[]) =>
      graphs.zenohPeer({
        node: `bench${topic.replace('/', '_')}`,
        publish: { topic, type: BYTES, hash, rate_hz, payloads: hex },
      });
    const key = (topic: string) => `bot1/${topic.slice(1)}`;

    // Hop 1 alone: the rmw_zenoh publisher to the bus.
    const hop1Bus = onBus(daemon, '/hop1');
    const hop1Peer = await publisher('/hop1', 500, small);
    await waitFor(() => hop1Bus.latencies.length >= 200, 'hop 1 flowing', 60_000);
    hop1Bus.latencies.length = 0;
    await waitFor(() => hop1Bus.latencies.length >= SAMPLES, 'hop 1 samples', 120_000);
    await hop1Peer.close();
    hop1Bus.stop();
    const hop1 = sorted(hop1Bus.latencies);

    // Hop 2 alone: the bus to the DDS side's subscriber, published here at 500 Hz.
    const hop2Sent = new Map<number, bigint>();
    const hop2Lane = await arrivals(graphs.ddsNet.wsUrl, key('/hop2'), hop2Sent);
    const pub = daemon.bus.advertise('/hop2', BYTES, { source: 'bench' });
    const blobs = payloads(SMALL);
    let i = 0;
    const timer = setInterval(() => {
      const at = wallNs();
      hop2Sent.set(i % DISTINCT, at);
      pub.publish(blobs[i++ % DISTINCT]!, at);
    }, 2);
    await waitFor(() => hop2Lane.latencies.length >= 200, 'hop 2 flowing', 60_000);
    hop2Lane.latencies.length = 0;
    await waitFor(() => hop2Lane.latencies.length >= SAMPLES, 'hop 2 samples', 120_000);
    clearInterval(timer);
    pub.close();
    await hop2Lane.close();
    const hop2 = sorted(hop2Lane.latencies);

    // The relay, alone and then beside 1 MB at 10 Hz.
    const relayBus = onBus(daemon, '/relay');
    const relayLane = await arrivals(graphs.ddsNet.wsUrl, key('/relay'), relayBus.sentAt);
    const relayPeer = await publisher('/relay', 500, small);
    await waitFor(() => relayLane.latencies.length >= 200, 'the relay flowing', 60_000);
    relayLane.latencies.length = 0;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    await waitFor(() => relayLane.latencies.length >= SAMPLES, 'relay samples', 120_000);
    const alone = sorted(relayLane.latencies);
    const loopAlone = loop.percentile(99) / 1e6;

    const bigBus = onBus(daemon, '/big');
    const bigLane = await counted(graphs.ddsNet.wsUrl, key('/big'));
    // One 1 MB payload (a CDR header, then zeros): counted, not timed.
    const bigPeer = await graphs.zenohPeer({
      node: 'bench_big',
      publish: { topic: '/big', type: BYTES, hash, rate_hz: 10, size: LARGE },
    });
    await waitFor(() => bigLane.count() >= 2, 'the 1 MB topic flowing', 60_000);
    relayLane.latencies.length = 0;
    const bigFrom = { bus: bigBus.latencies.length, lane: bigLane.count() };
    loop.reset();
    await waitFor(() => relayLane.latencies.length >= SAMPLES, 'relay samples beside 1 MB', 120_000);
    const beside = sorted(relayLane.latencies);
    const loopBeside = loop.percentile(99) / 1e6;
    loop.disable();
    await bigPeer.close();
    // Every 1 MB sample the bus had reaches the other side (after the last one's own trip).
    await sleep(1000);
    const bigOnBus = bigBus.latencies.length - bigFrom.bus;
    const bigArrived = bigLane.count() - bigFrom.lane;
    await relayPeer.close();
    bigLane.close();
    await relayLane.close();
    relayBus.stop();
    bigBus.stop();
    const figures = (daemon.status().components.zenoh_second?.details?.relays ?? {}) as Record<
      string,
      { relayed: number; dropped: number; oversize: number }
    >;

    const sum = (p: number) => percentile(hop1, p) + percentile(hop2, p);
    const p50 = percentile(alone, 50);
    const p99 = percentile(alone, 99);
    const p99Beside = percentile(beside, 99);
    const hops = `hop 1 (rmw_zenoh publisher to bus) ${tail(hop1)}; hop 2 (bus to the DDS side's subscriber) ${tail(hop2)}`;
    return [
      {
        name: 'relay rmw_zenoh to ros2dds, 100 B at 500 Hz (p50)',
        ours: p50,
        baseline: { name: 'hop 1 + hop 2 alone, same run', value: sum(50) },
        unit: 'ms',
        better: 'lower',
        goal: 'within 1.5x the two hops alone',
        met: p50 <= 1.5 * sum(50),
        notes: [`relay ${tail(alone)} (${SAMPLES} samples)`, hops],
      },
      {
        name: 'relay rmw_zenoh to ros2dds, 100 B at 500 Hz (p99)',
        ours: p99,
        baseline: { name: 'hop 1 + hop 2 alone, same run', value: sum(99) },
        unit: 'ms',
        better: 'lower',
        goal: 'within 1.5x the two hops alone',
        met: p99 <= 1.5 * sum(99),
      },
      {
        name: 'relay 100 B at 500 Hz beside 1 MB at 10 Hz (p99)',
        ours: p99Beside,
        baseline: { name: 'the same relay alone, same run', value: p99 },
        unit: 'ms',
        better: 'lower',
        goal: 'p99 within 2x alone, and no 1 MB sample lost',
        met: p99Beside <= 2 * p99 && bigArrived === bigOnBus && (figures['/big']?.dropped ?? 1) === 0,
        notes: [
          `beside 1 MB: ${tail(beside)}; 1 MB samples: ${bigOnBus} on the bus, ${bigArrived} arrived; relay counters ` +
            JSON.stringify(figures),
          `this process's event-loop delay p99 (the daemon's): ${loopAlone.toFixed(1)} ms alone, ${loopBeside.toFixed(1)} ms beside 1 MB`,
        ],
      },
    ];
  } finally {
    await stop();
    await graphs.close();
  }
}
