/**
 * One figure a benchmark measured: ours beside a baseline measured in the same run, and the goal it serves.
 * Each bench/*.bench.ts exports `run(): Promise<BenchResult[]>`; `npm run bench [-- filter]` runs them.
 */
export interface BenchResult {
  /** What was measured, e.g. `bus throughput, 100 B, 1 subscriber`. */
  name: string;
  ours: number;
  baseline?: { name: string; value: number };
  unit: string;
  /** `higher` when bigger is better (throughput), `lower` for latency and memory. */
  better: 'higher' | 'lower';
  /** The issue's goal in words, e.g. `>= 1,000,000 msgs/s and >= 0.5x EventEmitter`. */
  goal?: string;
  /** Whether the goal was met in this run. */
  met?: boolean;
  /** Extra lines printed under the row (a histogram, percentiles). */
  notes?: string[];
}

/** ours / baseline, oriented so that > 1 is always better than the baseline. */
export function ratio(result: BenchResult): number | undefined {
  if (!result.baseline || result.baseline.value === 0) return undefined;
  return result.better === 'higher' ? result.ours / result.baseline.value : result.baseline.value / result.ours;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** `p50 … , p99 … , p99.9 … , max …` of sorted figures, in `unit`. */
export function tail(sorted: ArrayLike<number>, unit = 'ms', digits = 2): string {
  const f = (p: number) => percentile(sorted, p).toFixed(digits);
  return `p50 ${f(50)}, p99 ${f(99)}, p99.9 ${f(99.9)}, max ${f(100)} ${unit}`;
}

/**
 * Each run's figure, then the best and the worst of them: `12.1, 9.8, 30.2 (best 9.8, worst 30.2)`. A run without a
 * figure (NaN: nothing measured) shows as `none` and counts for neither.
 */
export function spread(values: readonly number[], digits = 2, better: 'lower' | 'higher' = 'lower'): string {
  const each = values.map((v) => (Number.isFinite(v) ? v.toFixed(digits) : 'none')).join(', ');
  const known = values.filter(Number.isFinite);
  if (known.length === 0) return `${each} (no run measured one)`;
  const [best, worst] =
    better === 'lower' ? [Math.min(...known), Math.max(...known)] : [Math.max(...known), Math.min(...known)];
  return `${each} (best ${best.toFixed(digits)}, worst ${worst.toFixed(digits)})`;
}

/** The slope of the least-squares line through (x, y): y's change per unit of x (NaN with fewer than 2 points). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return NaN;
  let [mx, my] = [0, 0];
  for (let i = 0; i < n; i++) [mx, my] = [mx + xs[i]! / n, my + ys[i]! / n];
  let [sxy, sxx] = [0, 0];
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxy / sxx;
}

/** The one row of a bench that could not run here (a peer or a tool missing): why, and the other benches run. */
export function skippedResult(name: string, unit: string, why: string): BenchResult[] {
  return [{ name: `${name}: skipped`, ours: NaN, unit, better: 'lower', notes: [`skipped: ${why.split('\n')[0]}`] }];
}
