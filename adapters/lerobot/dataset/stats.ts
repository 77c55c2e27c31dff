import type { FeatureStats } from './dataset-types.ts';

/**
 * Combines per-episode statistics into dataset-wide ones as LeRobot's aggregate_stats does: min of mins,
 * max of maxes, count-weighted mean, and the pooled variance sum(n_i (var_i + (mean_i - mean)^2)) / n.
 */
export function aggregateStats(parts: FeatureStats[]): FeatureStats {
  const withCount = parts.filter((p) => p.mean && p.count);
  const out: FeatureStats = {};
  const mins = parts.map((p) => p.min).filter((m): m is number[] => !!m);
  const maxs = parts.map((p) => p.max).filter((m): m is number[] => !!m);
  if (mins.length) out.min = mins[0]!.map((_, i) => mins.reduce((a, m) => Math.min(a, m[i]!), Infinity));
  if (maxs.length) out.max = maxs[0]!.map((_, i) => maxs.reduce((a, m) => Math.max(a, m[i]!), -Infinity));
  if (withCount.length === 0) return out;
  const n = withCount.reduce((a, p) => a + p.count![0]!, 0);
  const dim = withCount[0]!.mean!.length;
  const mean = new Array<number>(dim).fill(0);
  for (const p of withCount) for (let i = 0; i < dim; i++) mean[i]! += (p.count![0]! * p.mean![i]!) / n;
  out.mean = mean;
  if (withCount.every((p) => p.std)) {
    const variance = new Array<number>(dim).fill(0);
    for (const p of withCount) {
      for (let i = 0; i < dim; i++) variance[i]! += (p.count![0]! * (p.std![i]! ** 2 + (p.mean![i]! - mean[i]!) ** 2)) / n;
    }
    out.std = variance.map(Math.sqrt);
  }
  out.count = [n];
  return out;
}

/** Statistics of rows of `dim`-element vectors (population std, as numpy's default). */
export function computeStats(rows: ArrayLike<number>[], dim: number): FeatureStats {
  const n = rows.length;
  const min = new Array<number>(dim).fill(Infinity);
  const max = new Array<number>(dim).fill(-Infinity);
  const mean = new Array<number>(dim).fill(0);
  for (const r of rows) {
    for (let i = 0; i < dim; i++) {
      const v = r[i]!;
      if (v < min[i]!) min[i] = v;
      if (v > max[i]!) max[i] = v;
      mean[i]! += v / n;
    }
  }
  const variance = new Array<number>(dim).fill(0);
  for (const r of rows) for (let i = 0; i < dim; i++) variance[i]! += (r[i]! - mean[i]!) ** 2 / n;
  return { min, max, mean, std: variance.map(Math.sqrt), count: [n] };
}
