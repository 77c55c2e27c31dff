// Our own renderer rather than prom-client, measured and decided: a component gives its figures as plain
// MetricFamily data read from its state at scrape time, some of it from worker threads (a control loop's latency
// histogram arrives as bucket counts, which prom-client's Histogram cannot take: it only observes), and two
// providers may give one family (the ROS and Zenoh relays' figures), merged here where prom-client's Registry refuses
// a second registration of a name. prom-client's Registry.metrics() over the same 156 families (1,034 samples) took
// 7 to 9 times as long per scrape (bench/metrics-render.bench.ts), and a port would touch the 157 families of 26 files.
import type { MetricFamily } from '../contract/index.ts';

/**
 * Renders metric families in the Prometheus text exposition format (version 0.0.4). Families with the same
 * name from different providers are merged under the first one's HELP and TYPE, as the format requires
 * each family to appear once.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  // Grouped, not copied: a scrape under load renders this many times a second.
  const byName = new Map<string, MetricFamily[]>();
  for (const family of families) {
    const same = byName.get(family.name);
    if (same) same.push(family);
    else byName.set(family.name, [family]);
  }
  let out = '';
  for (const [name, same] of byName) {
    const first = same[0]!;
    out += `# HELP ${name} ${escapeHelp(first.help)}\n# TYPE ${name} ${first.type}\n`;
    if (first.type === 'histogram') for (const f of same) for (const h of f.histograms ?? []) out += histogram(name, h);
    for (const f of same) for (const s of f.samples) out += `${name}${labels(s.labels)} ${formatValue(s.value)}\n`;
  }
  return out;
}

function histogram(name: string, h: NonNullable<MetricFamily['histograms']>[number]): string {
  // The histogram's own labels once, each bucket's `le` after them.
  const inner = labelPairs(h.labels);
  const le = inner === '' ? '{le="' : `{${inner},le="`;
  let out = '';
  let sawInf = false;
  for (const b of h.buckets) {
    if (b.le === Infinity) sawInf = true;
    out += `${name}_bucket${le}${formatValue(b.le)}"} ${formatValue(b.count)}\n`;
  }
  if (!sawInf) out += `${name}_bucket${le}+Inf"} ${formatValue(h.count)}\n`;
  const own = inner === '' ? '' : `{${inner}}`;
  return `${out}${name}_sum${own} ${formatValue(h.sum)}\n${name}_count${own} ${formatValue(h.count)}\n`;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

// A scrape writes every sample's labels, and almost none needs changing: test before replacing.
const PLAIN_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NEEDS_ESCAPE = /[\\\n"]/;

function labels(set: Record<string, string> | undefined): string {
  const inner = labelPairs(set);
  return inner === '' ? '' : `{${inner}}`;
}

function labelPairs(set: Record<string, string> | undefined): string {
  let out = '';
  for (const k in set) out += `${out === '' ? '' : ','}${sanitizeName(k)}="${escapeLabel(set[k]!)}"`;
  return out;
}

function sanitizeName(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
}

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
