import type { MetricFamily } from '../contract/index.ts';

/** Latency buckets in seconds, from 1 ms to 30 s. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
  count: number;
}

/** A Prometheus histogram with fixed buckets, one series per label set. Memory grows with label sets only. */
export class Histogram {
  readonly name: string;
  readonly help: string;
  #bounds: readonly number[];
  #series = new Map<string, Series>();

  constructor(options: { name: string; help: string; buckets?: readonly number[] }) {
    const { name, help, buckets = LATENCY_BUCKETS_S } = options;
    this.name = name;
    this.help = help;
    this.#bounds = buckets;
  }

  observe(labels: Record<string, string>, value: number): void {
    const key = JSON.stringify(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels, counts: this.#bounds.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    for (let i = 0; i < this.#bounds.length; i++) if (value <= this.#bounds[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      samples: [],
      histograms: [...this.#series.values()].map((s) => ({
        labels: s.labels,
        buckets: this.#bounds.map((le, i) => ({ le, count: s.counts[i]! })),
        sum: s.sum,
        count: s.count,
      })),
    };
  }
}
