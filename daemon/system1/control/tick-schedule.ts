import { toMonotonicMs } from './loop-clock.ts';
import type { LoopState } from './loop-state.ts';

/** Slots of TickSchedule's times: the tick's schedule and start (performance.now() ms). */
const SCHEDULED = 0;
const STARTED = 1;

/** Waits shorter than this (ms) take their timeout from WAIT_TIMEOUTS, to the microsecond. */
const WAIT_TABLE_MS = 2;
/**
 * Atomics.wait timeouts (ms) of 0 to WAIT_TABLE_MS in steps of 1 us, each made once: a fractional timeout computed
 * each tick would be a new heap number each tick, as a builtin takes its arguments boxed. The array starts with a
 * non-number so that V8 keeps its elements as heap numbers, not as raw doubles that a read would box again.
 */
const WAIT_TIMEOUTS: unknown[] = [''];
for (let us = 0; us <= WAIT_TABLE_MS * 1000; us++) WAIT_TIMEOUTS[us] = us / 1000;

/**
 * A loop's fixed-rate ticks: it sleeps until each is due, reads the clock once, and afterwards records the tick's
 * latency, jitter and heartbeat in the loop's state, counting a late tick as missed and skipping (and counting) the
 * ticks that can no longer be on time.
 *
 * Nothing here allocates once V8 has optimized it. The times are kept in a Float64Array: a number held in a field
 * of an object, or across an await, may be a new heap number each time it changes; in a typed array it never is.
 */
export class TickSchedule {
  readonly #state: LoopState;
  readonly #periodMs: number;
  readonly #times = new Float64Array(2);
  /**
   * [0]: monotonicMs() at this tick's start (loop-clock.ts), the clock of the tick's ages, holds and waits. An array
   * the ticks read, not a getter: a number a getter returns is boxed wherever V8 has not inlined it.
   */
  readonly now = new Float64Array(1);

  constructor(state: LoopState, periodMs: number) {
    this.#state = state;
    this.#periodMs = periodMs;
  }

  /** The first tick is due one period from now. */
  begin(): void {
    this.#times[SCHEDULED] = performance.now() + this.#periodMs;
  }

  /**
   * Sleeps until the next tick is due (or a stop is requested) and reads the clock; false when a stop was requested.
   * It waits on the stop flag a whole number of ms (a small integer, never a heap number) until under WAIT_TABLE_MS
   * are left, then the rest with a timeout from WAIT_TIMEOUTS. Here, not in LoopState: a number passed to a method
   * V8 does not inline is boxed.
   */
  awaitTick(): boolean {
    const state = this.#state;
    const times = this.#times;
    if (state.closeRequested) return false;
    const control = state.control;
    const deadline = times[SCHEDULED]!;
    for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
      if (state.closeRequested) return false;
      if (left >= WAIT_TABLE_MS) Atomics.wait(control, 0, 0, Math.floor(left) - 1);
      else Atomics.wait(control, 0, 0, WAIT_TIMEOUTS[Math.ceil(left * 1000)] as number);
    }
    if (state.closeRequested) return false;
    const started = performance.now();
    times[STARTED] = started;
    this.now[0] = toMonotonicMs(started);
    return true;
  }

  /** Records the tick that ran and schedules the next. */
  finish(): void {
    const state = this.#state;
    const times = this.#times;
    const periodMs = this.#periodMs;
    const finished = performance.now();
    let scheduled = times[SCHEDULED]!;
    const started = times[STARTED]!;
    state.recordTiming((finished - scheduled) * 1000, started > scheduled ? (started - scheduled) * 1000 : 0);
    state.add('ticks');
    state.set('heartbeat_ms', toMonotonicMs(finished));
    scheduled += periodMs;
    // Past the next tick's start: missed. More than a whole period behind: the ticks that can no longer be on time
    // are skipped, and counted. No branch around the calls: a call first made after V8 optimized this method (a
    // rare late tick) would undo that optimization, and the ticks until it is redone would allocate.
    const late = finished > scheduled ? 1 : 0;
    const periods = Math.floor((finished - scheduled) / periodMs);
    const behind = periods > 0 ? periods : 0;
    scheduled += behind * periodMs;
    state.add('skipped', behind);
    state.add('missed', late + behind);
    times[SCHEDULED] = scheduled;
  }
}
