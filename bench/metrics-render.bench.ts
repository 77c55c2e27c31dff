import { Counter, Gauge, Histogram as PromHistogram, Registry } from 'prom-client';
import { renderPrometheus } from '../daemon/api/prometheus.ts';
import { LATENCY_BUCKETS_S, Histogram } from '../daemon/api/histogram.ts';
import type { MetricFamily } from '../daemon/contract/index.ts';
import { percentile, type BenchResult } from './bench.ts';

// A scrape of GET /metrics as the daemon answers it: the figures are read from the components' state at scrape
// time and written as text. Ours builds MetricFamily data and renders it (daemon/api/prometheus.ts). The baselines
// are prom-client's Registry.metrics() over the same families: Gauges and Counters whose collect() sets their samples
// from the same state (how a port would read component state), and the same set beforehand (prom-client's best
// case: the scrape only writes); both with Histograms that observed the same values. Every output is checked to
// hold the same sample lines before anything is timed.

const SCRAPES = Number(process.env.METRICS_SCRAPES ?? 2000);
const TOPICS = 24;
const SUBSCRIBERS = 30;
const COMPONENTS = 12;
const PLAIN = 140;
const ROUTES = 10;

interface Kind {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: string[];
  /** The component state this family reads at each scrape. */
  state: { labels: Record<string, string>; value: number }[];
}

/** Families shaped as a whole daemon's: per topic, per subscriber, per component state, and plain ones. */
function daemonState(): Kind[] {
  const kinds: Kind[] = [];
  const topics = Array.from({ length: TOPICS }, (_, i) => ({
    topic: `/robot/topic_${i}`,
    type: 'sensor_msgs/msg/Imu',
  }));
  for (const f of [
    'messages_total',
    'bytes_total',
    'drops_total',
    'rate_hz',
    'publishers',
    'subscribers',
    'age_s',
    'queue',
  ])
    kinds.push({
      name: `auraison_bus_${f}`,
      help: `Bus ${f} per topic.`,
      type: f.endsWith('_total') ? 'counter' : 'gauge',
      labelNames: ['topic', 'type'],
      state: topics.map((labels, i) => ({ labels, value: i * 1013 + 7 })),
    });
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => ({
    subscriber: `recorder`,
    topic: `/robot/topic_${i}`,
    policy: i % 2 ? 'drop-oldest' : 'block',
  }));
  for (const f of ['queue_depth', 'queue_limit', 'dropped_total', 'delivered_total'])
    kinds.push({
      name: `auraison_subscriber_${f}`,
      help: `Subscriber ${f}.`,
      type: f.endsWith('_total') ? 'counter' : 'gauge',
      labelNames: ['subscriber', 'topic', 'policy'],
      state: subscribers.map((labels, i) => ({ labels, value: i * 3 })),
    });
  kinds.push({
    name: 'auraison_component_state',
    help: 'Component state (1 for the current one).',
    type: 'gauge',
    labelNames: ['component', 'state'],
    state: Array.from({ length: COMPONENTS }).flatMap((_, c) =>
      ['starting', 'running', 'degraded', 'stopping', 'stopped', 'failed'].map((state) => ({
        labels: { component: `component_${c}`, state },
        value: state === 'running' ? 1 : 0,
      })),
    ),
  });
  for (let i = 0; i < PLAIN; i++)
    kinds.push({
      name: `auraison_figure_${i}${i % 2 ? '_total' : ''}`,
      help: `Figure ${i} of a component.`,
      type: i % 2 ? 'counter' : 'gauge',
      labelNames: [],
      state: [{ labels: {}, value: i * 12.5 }],
    });
  return kinds;
}

const HISTOGRAMS = ['request', 'inference', 'query'].map((h) => ({
  name: `auraison_api_${h}_duration_seconds`,
  help: `API ${h} latency.`,
}));

/** The same latencies for both sides: per histogram, per route, a spread over the buckets. */
function latencies(): { route: string; value: number }[] {
  const out: { route: string; value: number }[] = [];
  for (let r = 0; r < ROUTES; r++)
    for (let i = 0; i < 200; i++) out.push({ route: `/route_${r}`, value: (i % 40) / 100 });
  return out;
}

function ours(kinds: Kind[]): () => string {
  const histograms = HISTOGRAMS.map((h) => new Histogram(h));
  for (const h of histograms) for (const { route, value } of latencies()) h.observe({ route }, value);
  return () => {
    const families: MetricFamily[] = kinds.map((k) => ({
      name: k.name,
      help: k.help,
      type: k.type,
      samples: k.state.map((s) => ({ labels: s.labels, value: s.value })),
    }));
    for (const h of histograms) families.push(h.family());
    return renderPrometheus(families);
  };
}

/**
 * prom-client's Registry with the same families. `collect`: each reads the state at the scrape (our components'
 * way); without, the values were set as they changed and the scrape only writes them (prom-client's best case).
 */
function promClient(kinds: Kind[], collect: boolean): () => Promise<string> {
  const registry = new Registry();
  for (const { name, help, type, labelNames, state } of kinds) {
    // Assigned before any scrape can call `fill` through collect().
    let metric: Gauge | Counter | undefined;
    const fill = (): void => {
      metric!.reset();
      for (const s of state)
        if (metric instanceof Gauge) metric.set(s.labels, s.value);
        else metric!.inc(s.labels, s.value);
    };
    const options = { name, help, labelNames, registers: [registry], ...(collect ? { collect: fill } : {}) };
    metric = type === 'gauge' ? new Gauge(options) : new Counter(options);
    if (!collect) fill();
  }
  for (const h of HISTOGRAMS) {
    const histogram = new PromHistogram({
      ...h,
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    });
    for (const { route, value } of latencies()) histogram.observe({ route }, value);
  }
  return () => registry.metrics();
}

/**
 * The sample lines of an exposition as a scraper takes them: sorted, and each line's labels in name order
 * (prom-client writes a bucket's `le` first, we write it last).
 */
function samples(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) =>
      l.replace(
        /\{(.*)\}/,
        (_, inner: string) =>
          `{${inner
            .split(/,(?=[a-z_]+=")/)
            .sort()
            .join(',')}}`,
      ),
    )
    .sort();
}

async function timeScrapes(scrape: () => string | Promise<string>): Promise<number[]> {
  for (let i = 0; i < 200; i++) await scrape(); // warm-up: JIT, and prom-client's label hashes
  const us: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    await scrape();
    us.push((performance.now() - t0) * 1000);
  }
  return us.sort((a, b) => a - b);
}

export async function run(): Promise<BenchResult[]> {
  const kinds = daemonState();
  const renderOurs = ours(kinds);
  const collected = promClient(kinds, true);
  const held = promClient(kinds, false);
  const lines = samples(renderOurs());
  for (const other of [collected, held]) {
    const theirs = samples(await other());
    if (theirs.length !== lines.length || theirs.some((line, i) => line !== lines[i]))
      throw new Error(`the expositions differ: ${lines.length} sample lines beside prom-client's ${theirs.length}`);
  }
  const families = kinds.length + HISTOGRAMS.length;
  // Alternated, so that no side has the quieter part of the run.
  const [oursUs, collectedUs, heldUs]: number[][] = [[], [], []];
  for (let round = 0; round < 3; round++) {
    oursUs.push(...(await timeScrapes(renderOurs)));
    collectedUs.push(...(await timeScrapes(collected)));
    heldUs.push(...(await timeScrapes(held)));
  }
  for (const us of [oursUs, collectedUs, heldUs]) us.sort((x, y) => x - y);
  const row = (baseline: string, us: number[]): BenchResult => ({
    name: `GET /metrics render, ${families} families, ${lines.length} samples, vs ${baseline} (p50 per scrape)`,
    ours: percentile(oursUs, 50),
    baseline: { name: `prom-client, ${baseline}`, value: percentile(us, 50) },
    unit: 'µs',
    better: 'lower',
    notes: [`p99: ours ${percentile(oursUs, 99).toFixed(0)} µs, prom-client ${percentile(us, 99).toFixed(0)} µs`],
  });
  return [row('collect() reading the state', collectedUs), row('values set as they changed', heldUs)];
}
