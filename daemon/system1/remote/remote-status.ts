import type { RemoteFailure } from './chunk-check.ts';

/** Where a remote policy's link is: connecting (the first time, or again after a loss), up, down until its retry. */
export type RemoteState = 'connecting' | 'up' | 'down' | 'closed';

/** A loop's remote policy as status shows it. */
export interface RemoteStatus {
  /** `openpi ws://gpu-host:8000` or `zenoh ai/inference/vla/act`. */
  endpoint: string;
  state: RemoteState;
  /** Why it is not up (what was lost, what it waits for); null while up. */
  reason: string | null;
  /** Observations sent. */
  requests: number;
  /** Chunks back and taken. */
  chunks: number;
  /** Requests that came to nothing, by reason. */
  failures: Partial<Record<RemoteFailure, number>>;
  /** Round trips of the recent chunks (observation out to chunk in), nearest-rank; null before the first. */
  rttP50Ms: number | null;
  rttP99Ms: number | null;
  /** The server's own inference time of the last chunk, where it says it (openpi's server_timing.infer_ms). */
  serverMs: number | null;
  lastError: string | null;
  /** When the last failure was, ms since the epoch. */
  lastErrorAtMs: number | null;
  /** Sessions opened (openpi: connections that reached the server's metadata). */
  connects: number;
}

/** Round trips kept for the percentiles: at a chunk every few hundred ms, the last minute or so. */
const KEPT = 256;

/** The recent round trips of a remote policy, for exact percentiles. */
export class RoundTrips {
  readonly #samples = new Float64Array(KEPT);
  #written = 0;

  record(ms: number): void {
    this.#samples[this.#written % KEPT] = ms;
    this.#written++;
  }

  /** The p-th percentile (nearest rank) of the recent round trips, in ms; null before the first. */
  percentiles(...ps: number[]): (number | null)[] {
    const n = Math.min(this.#written, KEPT);
    if (n === 0) return ps.map(() => null);
    const sorted = this.#samples.slice(0, n).sort();
    return ps.map((p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!);
  }

  /** The longest of the last `n` round trips, in ms (0 before the first). */
  recentMax(n: number): number {
    let max = 0;
    for (let i = Math.max(0, this.#written - Math.min(n, KEPT)); i < this.#written; i++)
      max = Math.max(max, this.#samples[i % KEPT]!);
    return max;
  }
}
