// Control loop latency percentiles for the status page, from the histogram buckets in GET /metrics.

const BUCKET = /^auraison_control_loop_latency_seconds_bucket\{(.*)\} (\S+)$/;

function labels(text) {
  const out = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/** Map of loop name to {p50, p99} in seconds (the upper bound of the bucket the percentile falls in). */
export function loopLatencies(metricsText) {
  const byLoop = new Map();
  for (const line of metricsText.split('\n')) {
    const m = BUCKET.exec(line);
    if (!m) continue;
    const l = labels(m[1]);
    const le = l.le === '+Inf' ? Infinity : Number(l.le);
    if (!byLoop.has(l.loop)) byLoop.set(l.loop, []);
    byLoop.get(l.loop).push([le, Number(m[2])]);
  }
  const out = new Map();
  for (const [loop, buckets] of byLoop) {
    buckets.sort((a, b) => a[0] - b[0]);
    const total = buckets.at(-1)?.[1] ?? 0;
    const at = (q) => buckets.find(([, count]) => count >= q * total)?.[0] ?? NaN;
    out.set(loop, total > 0 ? { p50: at(0.5), p99: at(0.99) } : {});
  }
  return out;
}
