/**
 * Latest observations shared between the main thread (one writer per slot: the bus subscriber) and a loop's
 * worker (the reader), in one SharedArrayBuffer, or in a file of a loop process's folder that the daemon writes
 * (board-file.ts) and the process maps: the same bytes either way. Each slot is a seqlock: the writer makes the
 * sequence odd, writes, makes it even; the reader retries a copy that overlapped a write. The writer never waits on
 * the reader, so a stalled main thread makes observations old (which the loop detects), never a stalled loop.
 * The reader waits only for a write in progress (a few hundred ns), spinning briefly and then sleeping:
 * the loop thread runs at SCHED_FIFO, and when it preempted the writer on the writer's own CPU, a spin
 * would keep the writer from finishing until the kernel throttled the real-time thread (after 0.95 s by
 * default, never with sched_rt_runtime_us = -1).
 */
export interface BoardLayout {
  /** Elements of each slot, in order. */
  lengths: number[];
}

const HEADER_INTS = 2; // seq, writes (debug/monitoring)
/** Retries of a copy before the reader sleeps between them: far longer than a write takes on another CPU. */
const SPINS = 1000;
/** The reader's sleep while a write stays in progress (ms): the writer's CPU is free to finish it meanwhile. */
const NAP_MS = 0.05;

/** Where slot `i`'s words are in a board's bytes: its sequence and write count (int32 each), time (float64), values. */
export interface BoardOffsets {
  seq: number;
  time: number;
  values: number;
}

/** The byte layout of a board of `lengths`: each slot's offsets, and the bytes in all. */
export function boardLayout(lengths: number[]): { slots: BoardOffsets[]; bytes: number } {
  const slots = lengths.length;
  const intBytes = Math.ceil((slots * HEADER_INTS * 4) / 8) * 8;
  let at = intBytes + slots * 8;
  const offsets = lengths.map((n, i) => {
    const slot = { seq: i * HEADER_INTS * 4, time: intBytes + i * 8, values: at };
    at += n * 4;
    return slot;
  });
  return { slots: offsets, bytes: at };
}

export class ObservationBoard {
  readonly buffer: ArrayBufferLike;
  readonly lengths: number[];
  #seq: Int32Array;
  #times: Float64Array;
  #values: Float32Array[];
  /** Never notified: Atomics.wait on it is a sleep. */
  #nap = new Int32Array(new SharedArrayBuffer(4));

  /** Over `buffer` (another thread's board, or a loop process's mapping of its board file), or a new one. */
  constructor(layout: BoardLayout, buffer?: ArrayBufferLike) {
    this.lengths = layout.lengths;
    const slots = layout.lengths.length;
    const { slots: offsets, bytes } = boardLayout(layout.lengths);
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength !== bytes) throw new RangeError('observation board buffer does not match its layout');
    this.#seq = new Int32Array(this.buffer, 0, slots * HEADER_INTS);
    this.#times = new Float64Array(this.buffer, offsets[0]?.time ?? 0, slots);
    this.#values = layout.lengths.map((n, i) => new Float32Array(this.buffer, offsets[i]!.values, n));
    if (!buffer) this.#times.fill(NaN);
  }

  /**
   * Writes slot `i` from `values` (exactly its length), stamped with `timeMs` (monotonic ms, loop-clock.ts, of the
   * message).
   */
  write(i: number, values: Float32Array, timeMs: number): void {
    const seq = this.#seq;
    Atomics.add(seq, i * HEADER_INTS, 1);
    this.#values[i]!.set(values);
    this.#times[i] = timeMs;
    Atomics.add(seq, i * HEADER_INTS, 1);
    Atomics.add(seq, i * HEADER_INTS + 1, 1);
  }

  /** Copies slot `i` into `out` at `offset`; returns its time in monotonic ms (NaN if never written). */
  read(i: number, out: Float32Array, offset: number): number {
    const seq = this.#seq;
    for (let tries = 1; ; tries++) {
      const before = Atomics.load(seq, i * HEADER_INTS);
      if ((before & 1) === 0) {
        out.set(this.#values[i]!, offset);
        const time = this.#times[i]!;
        if (Atomics.load(seq, i * HEADER_INTS) === before) return time;
      }
      // Still changing after many tries: the writer is not running (preempted, maybe by this thread).
      if (tries >= SPINS) Atomics.wait(this.#nap, 0, 0, NAP_MS);
    }
  }

  writes(i: number): number {
    return Atomics.load(this.#seq, i * HEADER_INTS + 1);
  }
}
