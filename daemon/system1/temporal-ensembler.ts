import type { ActionSource, ChunkerCounters, TimedAction } from './action-chunker.ts';

/**
 * ACT's temporal ensembling (LeRobot's ACTTemporalEnsembler), as the action source of a loop that plans a chunk
 * every tick (inline). Each timestep's action is the weighted average of every chunk's prediction for it, the
 * i-th oldest weighted exp(-coeff * i): with coeff > 0 the oldest prediction counts most, as in the ACT paper
 * (LeRobot's default 0.01). It keeps the running average online, as LeRobot does: an action predicted c times
 * so far, x, meets a new prediction a as (x * W[c-1] + a * w[c]) / W[c], W the cumulative weights.
 *
 * An ActionSource, as ActionChunker is: the loop asks wantsObservation, stamps the observation, receives the chunk
 * and pops the tick's action.
 */
export class TemporalEnsembler implements ActionSource {
  readonly chunkSize: number;
  readonly counters: ChunkerCounters = { executed: 0, underruns: 0, chunks: 0, late: 0, merged: 0 };
  readonly #weights: Float64Array;
  readonly #cumulative: Float64Array;
  /** Ensembled actions for timesteps latest + 1, latest + 2, ..., with how many predictions each holds. */
  #queue: { action: Float32Array; count: number }[] = [];
  #latest = -1;
  #awaiting: number | undefined;
  /** The chunk awaited was planned before a reset: it is dropped when it comes. */
  #dropAwaited = false;

  constructor(options: { chunkSize: number; coeff: number }) {
    const { chunkSize, coeff } = options;
    if (!Number.isInteger(chunkSize) || chunkSize < 1)
      throw new RangeError(`chunkSize must be an integer >= 1, got ${chunkSize}`);
    if (!Number.isFinite(coeff)) throw new RangeError(`temporal_ensemble_coeff must be finite, got ${coeff}`);
    this.chunkSize = chunkSize;
    this.#weights = Float64Array.from({ length: chunkSize }, (_, i) => Math.exp(-coeff * i));
    this.#cumulative = new Float64Array(chunkSize);
    let sum = 0;
    for (let i = 0; i < chunkSize; i++) this.#cumulative[i] = sum += this.#weights[i]!;
  }

  /** Every tick plans a chunk. */
  wantsObservation(): boolean {
    return this.#awaiting === undefined;
  }

  /** The chunk of the observation taken now is for the timestep about to be executed and the K - 1 after it. */
  observationSent(): number {
    this.#awaiting = this.#latest + 1;
    return this.#awaiting;
  }

  observationFailed(): void {
    this.#awaiting = undefined;
    this.#dropAwaited = false;
  }

  receive(observationTimestep: number, actions: Float32Array, dim: number): void {
    if (actions.length % dim !== 0)
      throw new RangeError(`chunk of ${actions.length} values is not a whole number of ${dim}-element actions`);
    this.#awaiting = undefined;
    if (this.#dropAwaited) {
      this.#dropAwaited = false;
      return;
    }
    this.counters.chunks++;
    const count = Math.min(actions.length / dim, this.chunkSize);
    for (let i = 0; i < count; i++) {
      const timestep = observationTimestep + i;
      const a = actions.subarray(i * dim, (i + 1) * dim);
      const at = timestep - (this.#latest + 1);
      if (at < 0) {
        this.counters.late++;
        continue;
      }
      const entry = this.#queue[at];
      if (!entry) {
        // Timesteps are consecutive: a gap (a chunk for later than the queue reaches) starts from this prediction.
        this.#queue.length = at;
        this.#queue[at] = { action: a.slice(), count: 1 };
        continue;
      }
      this.counters.merged++;
      const c = Math.min(entry.count, this.chunkSize - 1);
      const before = this.#cumulative[c - 1]!;
      const w = this.#weights[c]!;
      const after = this.#cumulative[c]!;
      for (let k = 0; k < dim; k++) entry.action[k] = (entry.action[k]! * before + a[k]! * w) / after;
      entry.count = Math.min(entry.count + 1, this.chunkSize);
    }
  }

  pop(): TimedAction | undefined {
    const next = this.#queue.shift();
    if (!next) {
      this.counters.underruns++;
      return undefined;
    }
    this.#latest++;
    this.counters.executed++;
    return { timestep: this.#latest, action: next.action };
  }

  /** Stale observations: predictions made from them are dropped. */
  clear(): void {
    this.#queue = [];
  }

  reset(): void {
    this.#queue = [];
    this.#dropAwaited = this.#awaiting !== undefined;
  }
}
