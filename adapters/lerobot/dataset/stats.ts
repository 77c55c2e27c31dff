import type { FeatureStats } from './dataset-types.ts';

/**
 * Combines per-episode statistics into dataset-wide ones as LeRobot's aggregate_stats does: min of mins,
 * max of maxes, count-weighted mean, and the pooled variance sum(n_i (var_i + mean_i^2)) / n - mean^2.
 * Episodes are added one at a time (a large dataset's per-episode stats do not fit in memory at once); an
 * episode whose vectors differ in length from the first one's is left out and reported by `add`.
 */
export class StatsAggregator {
  #dim = -1;
  #min: number[] | undefined;
  #max: number[] | undefined;
  #n = 0;
  #sum: number[] | undefined;
  #sumSq: number[] | undefined;
  #withoutStd = false;

  /** Adds one episode's statistics; returns why it was left out, or undefined. */
  add(part: FeatureStats): string | undefined {
    const lengths = (['min', 'max', 'mean', 'std'] as const)
      .map((k) => part[k]?.length)
      .filter((l): l is number => l !== undefined);
    if (lengths.length === 0) return undefined;
    if (this.#dim === -1) this.#dim = lengths[0]!;
    if (lengths.some((l) => l !== this.#dim))
      return `its vectors have ${[...new Set(lengths)].join(' and ')} elements, the first episode's ${this.#dim}`;
    const dim = this.#dim;
    if (part.min) this.#min = part.min.map((v, i) => Math.min(v, this.#min?.[i] ?? Infinity));
    if (part.max) this.#max = part.max.map((v, i) => Math.max(v, this.#max?.[i] ?? -Infinity));
    const count = part.count?.[0];
    if (!part.mean || count === undefined) return undefined;
    this.#sum ??= new Array<number>(dim).fill(0);
    this.#sumSq ??= new Array<number>(dim).fill(0);
    for (let i = 0; i < dim; i++) {
      this.#sum[i]! += count * part.mean[i]!;
      if (part.std) this.#sumSq[i]! += count * (part.std[i]! ** 2 + part.mean[i]! ** 2);
    }
    if (!part.std) this.#withoutStd = true;
    this.#n += count;
    return undefined;
  }

  result(): FeatureStats {
    const out: FeatureStats = {};
    if (this.#min) out.min = this.#min;
    if (this.#max) out.max = this.#max;
    if (!this.#sum || this.#n === 0) return out;
    const n = this.#n;
    const mean = this.#sum.map((s) => s / n);
    out.mean = mean;
    // Rounding can take a zero variance a hair below 0.
    if (!this.#withoutStd) out.std = this.#sumSq!.map((s, i) => Math.sqrt(Math.max(0, s / n - mean[i]! ** 2)));
    out.count = [n];
    return out;
  }
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
