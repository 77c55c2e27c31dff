export type GoalWatchdogOptions = {
  /** Wall milliseconds without a feed() after which onSilence fires. */
  silenceMs: number;
  /** Wall milliseconds after which onLimit fires, fed or not. */
  limitMs: number;
  onSilence: () => void;
  onLimit: () => void;
};

/**
 * Wall-clock backstops for one goal. A navigator judges its goal on robot time (message stamps), which
 * stops when the robot's messages stop; this watchdog keeps counting, so a goal always ends.
 *
 * Time counts in ticks of a tenth of the silence bound, and one tick never counts for more than two: when
 * the whole process stalls (a long synchronous task, the host starved of CPU), the stall is counted as one
 * tick, so the robot's messages that queued up meanwhile get their turn before the watchdog fires.
 * Call stop() once the goal ends; fires at most once.
 */
export class GoalWatchdog {
  readonly #silenceMs: number;
  readonly #onSilence: () => void;
  readonly #limitMs: number;
  readonly #onLimit: () => void;
  #timer: ReturnType<typeof setInterval>;
  #tickMs: number;
  #lastTick: number;
  #silentMs = 0;
  #elapsedMs = 0;

  constructor(options: GoalWatchdogOptions) {
    const { silenceMs, onSilence, limitMs, onLimit } = options;
    this.#silenceMs = silenceMs;
    this.#onSilence = onSilence;
    this.#limitMs = limitMs;
    this.#onLimit = onLimit;
    this.#tickMs = Math.max(1, Math.min(silenceMs, limitMs) / 10);
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
  }

  /** The robot is alive: a message arrived. */
  feed(): void {
    this.#silentMs = 0;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const now = performance.now();
    const counted = Math.min(now - this.#lastTick, 2 * this.#tickMs);
    this.#lastTick = now;
    this.#silentMs += counted;
    this.#elapsedMs += counted;
    if (this.#silentMs >= this.#silenceMs) {
      this.close();
      this.#onSilence();
    } else if (this.#elapsedMs >= this.#limitMs) {
      this.close();
      this.#onLimit();
    }
  }
}
