import { HISTOGRAM_SLOTS, LatencyHistogram, type HistogramSnapshot } from './latency-histogram.ts';

/** Recent samples kept for exact percentiles: a minute at 200 Hz, and then some. */
export const RING_SIZE = 16_384;

const COUNTERS = [
  'ticks',
  'missed',
  'stale',
  'underruns',
  'errors',
  'published',
  'chunks',
  'skipped',
  'heartbeat_ms',
  'started_ms',
  'non_finite',
  'clamped',
  'inference_overdue',
  'inference_sent_ms',
  'held',
  'late',
  'episodes',
] as const;
type Counter = (typeof COUNTERS)[number];
/** Int32 control words before the counters; a multiple of 8 bytes, so the Float64 views that follow are aligned. */
const HEADER_BYTES = 24;
const C = Object.fromEntries(COUNTERS.map((name, i) => [name, i])) as Record<Counter, number>;

export interface LoopStats {
  ticks: number;
  /** Iterations that finished after their deadline (the next tick's start), plus ticks skipped when late. */
  missedDeadlines: number;
  /** Ticks that sent the safe action because an observation was stale or missing. */
  staleTicks: number;
  /** Stale ticks per topic, by index in the loop's topics (ControlLoopStats.topics). */
  staleBySource: number[];
  underruns: number;
  /** Actions of chunks that came back for timesteps already executed, dropped (a remote policy's round trip). */
  lateActions: number;
  errors: number;
  published: number;
  chunks: number;
  /** Ticks skipped whole because the loop fell a period or more behind. */
  skipped: number;
  /** Policy actions with a NaN or infinite element, replaced by the safe action. */
  nonFinite: number;
  /** Policy actions replaced by the safe action while the operator's stop was latched (setHeld). */
  held: number;
  /** Episodes begun (beginEpisode) that dropped the loop's queued actions. */
  episodes: number;
  /** Twist commands on the velocity topic clamped to motion.velocity's limits. */
  clamped: number;
  /** Async chunking: requests whose chunk was awaited past chunking.inference_timeout_ms. */
  inferenceOverdue: number;
  /** Async chunking: when the request in flight went out, in monotonic ms (0: none in flight). */
  inferenceSentMs: number;
  /** When the last tick finished, in monotonic ms (loop-clock.ts; 0 before the first). */
  heartbeatMs: number;
  startedMs: number;
  latency: HistogramSnapshot;
  jitter: HistogramSnapshot;
}

/** A loop process's state, sent to the daemon's copy of it (LoopState.update, LoopState.apply). */
export interface LoopStateUpdate {
  /** The counters, histograms and stale counts, whole. */
  figures: Float64Array;
  /** Samples recorded so far. */
  written: number;
  /** The samples recorded since the last update (at most RING_SIZE), oldest first. */
  latencyUs: Float32Array;
  jitterUs: Float32Array;
}

/**
 * A loop's shared state: the stop flag the worker sleeps on, and its counters and histograms, which the
 * worker writes and the main thread reads at any time (for health, metrics and the watchdog) without a
 * message round trip.
 */
export class LoopState {
  readonly buffer: SharedArrayBuffer;
  readonly sources: number;
  /**
   * [0] stop flag, [1] ring write index, [2] inference thread dead, [3] held by a latched stop, [4] episodes begun
   * ([2] to [4] set by the main thread). The worker waits on [0].
   */
  readonly control: Int32Array;
  readonly counters: Float64Array;
  readonly latency: LatencyHistogram;
  readonly jitter: LatencyHistogram;
  readonly staleBySource: Float64Array;
  /** Recent latency and jitter samples, us. */
  readonly latencyRing: Float32Array;
  readonly jitterRing: Float32Array;
  /** Counters, histograms and stale counts: what a loop process's update carries whole. */
  readonly #figures: Float64Array;

  constructor(sources: number, buffer?: SharedArrayBuffer) {
    this.sources = sources;
    const f64 = COUNTERS.length + 2 * HISTOGRAM_SLOTS + sources;
    const bytes = HEADER_BYTES + f64 * 8 + 2 * RING_SIZE * 4;
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength !== bytes) throw new RangeError('loop state buffer does not match its layout');
    this.control = new Int32Array(this.buffer, 0, HEADER_BYTES / 4);
    this.#figures = new Float64Array(this.buffer, HEADER_BYTES, f64);
    let at = HEADER_BYTES;
    const f = (n: number): Float64Array => {
      const view = new Float64Array(this.buffer, at, n);
      at += n * 8;
      return view;
    };
    this.counters = f(COUNTERS.length);
    this.latency = new LatencyHistogram(f(HISTOGRAM_SLOTS));
    this.jitter = new LatencyHistogram(f(HISTOGRAM_SLOTS));
    this.staleBySource = f(sources);
    this.latencyRing = new Float32Array(this.buffer, at, RING_SIZE);
    this.jitterRing = new Float32Array(this.buffer, at + RING_SIZE * 4, RING_SIZE);
  }

  add(counter: Counter, n = 1): void {
    this.counters[C[counter]]! += n;
  }

  set(counter: Counter, value: number): void {
    this.counters[C[counter]] = value;
  }

  get(counter: Counter): number {
    return this.counters[C[counter]]!;
  }

  recordTiming(latencyUs: number, jitterUs: number): void {
    this.latency.record(latencyUs);
    this.jitter.record(jitterUs);
    const i = this.control[1]! % RING_SIZE;
    this.latencyRing[i] = latencyUs;
    this.jitterRing[i] = jitterUs;
    Atomics.add(this.control, 1, 1);
  }

  /** The most recent samples, oldest first (at most RING_SIZE). */
  recent(): { latencyUs: Float32Array; jitterUs: Float32Array } {
    const { latencyUs, jitterUs } = this.#samplesSince(0);
    return { latencyUs, jitterUs };
  }

  /** What the loop recorded since sample `since` (an update's `written`), for a copy in another process. */
  update(since: number): LoopStateUpdate {
    return { figures: this.#figures.slice(), ...this.#samplesSince(since) };
  }

  /** Takes a loop process's update into this copy: the daemon's side reads it as it reads a thread's state. */
  apply(update: LoopStateUpdate): void {
    this.#figures.set(update.figures);
    const first = update.written - update.latencyUs.length;
    for (let k = 0; k < update.latencyUs.length; k++) {
      const i = (first + k) % RING_SIZE;
      this.latencyRing[i] = update.latencyUs[k]!;
      this.jitterRing[i] = update.jitterUs[k]!;
    }
    Atomics.store(this.control, 1, update.written);
  }

  #samplesSince(since: number): { written: number; latencyUs: Float32Array; jitterUs: Float32Array } {
    const written = Atomics.load(this.control, 1);
    const n = Math.min(written - since, RING_SIZE);
    const start = written - n;
    const lat = new Float32Array(n);
    const jit = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % RING_SIZE;
      lat[k] = this.latencyRing[i]!;
      jit[k] = this.jitterRing[i]!;
    }
    return { written, latencyUs: lat, jitterUs: jit };
  }

  requestClose(): void {
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.control, 0);
  }

  get closeRequested(): boolean {
    return Atomics.load(this.control, 0) === 1;
  }

  /** The main thread saw the loop's inference thread die: the loop sends the safe action until it is restarted. */
  markInferenceDead(): void {
    Atomics.store(this.control, 2, 1);
  }

  get inferenceDead(): boolean {
    return Atomics.load(this.control, 2) === 1;
  }

  /** The operator's stop is latched (or released): the loop sends only its safe action while it holds. */
  setHeld(held: boolean): void {
    Atomics.store(this.control, 3, held ? 1 : 0);
  }

  get held(): boolean {
    return Atomics.load(this.control, 3) === 1;
  }

  /** An episode begins (its mark came): the loop drops the actions it planned in the one before. */
  beginEpisode(): void {
    Atomics.add(this.control, 4, 1);
  }

  /** Episodes begun so far: the loop compares it with the count it last saw. */
  get episodesBegun(): number {
    return Atomics.load(this.control, 4);
  }

  snapshot(): LoopStats {
    return {
      ticks: this.get('ticks'),
      missedDeadlines: this.get('missed'),
      staleTicks: this.get('stale'),
      staleBySource: Array.from(this.staleBySource),
      underruns: this.get('underruns'),
      lateActions: this.get('late'),
      errors: this.get('errors'),
      published: this.get('published'),
      chunks: this.get('chunks'),
      skipped: this.get('skipped'),
      nonFinite: this.get('non_finite'),
      held: this.get('held'),
      episodes: this.get('episodes'),
      clamped: this.get('clamped'),
      inferenceOverdue: this.get('inference_overdue'),
      inferenceSentMs: this.get('inference_sent_ms'),
      heartbeatMs: this.get('heartbeat_ms'),
      startedMs: this.get('started_ms'),
      latency: this.latency.snapshot(),
      jitter: this.jitter.snapshot(),
    };
  }
}
