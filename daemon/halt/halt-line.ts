/** The words of a stop line, in its shared buffer. */
const HALTS = 0;
const LATCHED = 1;
const PENDING = 2;
const WORDS = 3;

/**
 * The operator's stop in shared memory, read by every thread without asking the main one: the stop listener's
 * thread writes it the moment a stop comes in, the main thread when it stops or latches, and the loops that
 * drive the robot (a control loop's thread, the sim's steps) read it every tick. The daemon's HaltLatch stays
 * the latch's one owner (its file, its release, who latched it): this is what the other threads see of it.
 *
 * The words: the stops so far (each stop, whoever took it, counts one, so a reader that remembers the count
 * knows a stop came since), whether the latch holds, and the stops the listener took that the main thread has
 * not yet (it holds the robot meanwhile, latch or none). Construct it over the buffer another thread shared to
 * read and write the same line.
 */
export class HaltLine {
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT)) {
    if (buffer.byteLength < WORDS * Int32Array.BYTES_PER_ELEMENT)
      throw new RangeError(`a stop line needs ${WORDS * 4} bytes, got ${buffer.byteLength}`);
    this.buffer = buffer;
    this.#words = new Int32Array(buffer, 0, WORDS);
  }

  /** Stops so far: a reader that saw another count has missed a stop since. */
  get stops(): number {
    return Atomics.load(this.#words, HALTS);
  }

  /** Whether nothing may move: the latch holds, or a stop is on its way to the main thread. */
  get holds(): boolean {
    return Atomics.load(this.#words, LATCHED) === 1 || Atomics.load(this.#words, PENDING) > 0;
  }

  /** Stops taken on the listener's thread that the main thread has not yet taken. */
  get pending(): number {
    return Atomics.load(this.#words, PENDING);
  }

  /**
   * A stop, held until it is taken (`taken`): one on another thread than the main one, until the main thread takes
   * it; the main thread's own, until its latch engaged.
   */
  haltedOffLoop(): void {
    Atomics.add(this.#words, PENDING, 1);
    this.#count();
  }

  /** The main thread has taken a stop (its latch engaged, if the latch is on). */
  taken(): void {
    // Never below zero: a stop taken twice (a listener that restarted) must not hide the next one.
    for (;;) {
      const now = Atomics.load(this.#words, PENDING);
      if (now <= 0 || Atomics.compareExchange(this.#words, PENDING, now, now - 1) === now) return;
    }
  }

  /** The latch engaged (true) or released (false): HaltLatch's to call. */
  setLatched(latched: boolean): void {
    Atomics.store(this.#words, LATCHED, latched ? 1 : 0);
  }

  /** The line's words now, to mirror it in another process (`mirror` there). */
  words(): Int32Array {
    return Int32Array.from({ length: WORDS }, (_, i) => Atomics.load(this.#words, i));
  }

  /** Takes the words of another process's line (`words` there): a loop process's threads obey the daemon's line. */
  mirror(words: ArrayLike<number>): void {
    const stops = this.stops;
    for (let i = 0; i < WORDS; i++) Atomics.store(this.#words, i, words[i] ?? 0);
    if (this.stops !== stops) Atomics.notify(this.#words, HALTS);
  }

  /** Sleeps (off the main thread only) until the count of stops is no longer `seen`, or `ms` passed. */
  waitForHalt(seen: number, ms: number): void {
    Atomics.wait(this.#words, HALTS, seen, ms);
  }

  #count(): void {
    Atomics.add(this.#words, HALTS, 1);
    Atomics.notify(this.#words, HALTS);
  }
}
