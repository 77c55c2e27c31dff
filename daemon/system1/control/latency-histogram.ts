/** Upper bounds of the buckets, in microseconds; the last bucket is +Inf. */
export const LATENCY_BUCKETS_US = [
  25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 20_000, 50_000, 100_000,
] as const;

/** Slots a histogram takes in a Float64Array: one per bucket, +Inf, count, sum, max. */
export const HISTOGRAM_SLOTS = LATENCY_BUCKETS_US.length + 4;

export interface HistogramSnapshot {
  /** Non-cumulative counts per bucket; the last is +Inf. */
  counts: number[];
  count: number;
  sumUs: number;
  maxUs: number;
}

/**
 * A fixed-bucket latency histogram kept in a slice of a Float64Array, so a worker can write it into a
 * SharedArrayBuffer and the main thread can read it without a message. One writer; readers may see a
 * count and a bucket from different iterations, which is fine for monitoring.
 */
export class LatencyHistogram {
  #slots: Float64Array;

  constructor(slots: Float64Array = new Float64Array(HISTOGRAM_SLOTS)) {
    if (slots.length !== HISTOGRAM_SLOTS)
      throw new RangeError(`a histogram needs ${HISTOGRAM_SLOTS} slots, got ${slots.length}`);
    this.#slots = slots;
  }

  record(us: number): void {
    const s = this.#slots;
    let i = 0;
    while (i < LATENCY_BUCKETS_US.length && us > LATENCY_BUCKETS_US[i]!) i++;
    s[i]!++;
    const base = LATENCY_BUCKETS_US.length + 1;
    s[base]!++;
    s[base + 1]! += us;
    if (us > s[base + 2]!) s[base + 2] = us;
  }

  snapshot(): HistogramSnapshot {
    const s = this.#slots;
    const base = LATENCY_BUCKETS_US.length + 1;
    return { counts: Array.from(s.subarray(0, base)), count: s[base]!, sumUs: s[base + 1]!, maxUs: s[base + 2]! };
  }
}

/** The upper bound of the bucket holding percentile `p` (a conservative estimate), in microseconds. */
export function histogramPercentile(h: HistogramSnapshot, p: number): number {
  if (h.count === 0) return NaN;
  const target = Math.ceil((p / 100) * h.count);
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= target) return i < LATENCY_BUCKETS_US.length ? LATENCY_BUCKETS_US[i]! : h.maxUs;
  }
  return h.maxUs;
}

/** A text histogram: one line per non-empty bucket with a bar. */
export function formatHistogram(h: HistogramSnapshot, title: string): string[] {
  const lines = [
    `${title}: ${h.count} samples, mean ${h.count ? (h.sumUs / h.count).toFixed(0) : '-'} us, max ${h.maxUs.toFixed(0)} us`,
  ];
  const peak = Math.max(1, ...h.counts);
  let lower = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const upper = i < LATENCY_BUCKETS_US.length ? LATENCY_BUCKETS_US[i]! : Infinity;
    const c = h.counts[i]!;
    if (c > 0) {
      const label = `${lower}..${upper === Infinity ? 'inf' : upper} us`;
      lines.push(
        `  ${label.padStart(18)} ${String(c).padStart(7)} ${'#'.repeat(Math.max(1, Math.round((c / peak) * 40)))}`,
      );
    }
    lower = upper;
  }
  return lines;
}
