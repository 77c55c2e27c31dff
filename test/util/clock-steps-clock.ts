import { vi } from 'vitest';
import { nowNs } from '../../daemon/util/time.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The system wall clock, stepped the way NTP steps it on a robot without an RTC: Date.now() reads the real
 * clock plus an offset that `step` changes. performance.now() and process.hrtime (the monotonic clocks) and
 * timers are left alone.
 */
export class SteppedWallClock {
  #offsetMs = 0;
  #real = Date.now.bind(Date);

  install(): this {
    vi.spyOn(Date, 'now').mockImplementation(() => this.#real() + this.#offsetMs);
    return this;
  }

  /** Steps the wall clock by `ms` (negative: back), then waits until nowNs() follows (it re-syncs once a second). */
  async step(ms: number): Promise<void> {
    this.#offsetMs += ms;
    await waitFor(
      () => Math.abs(Number(nowNs() / 1_000_000n) - Date.now()) < 100,
      'nowNs() to follow the stepped wall clock',
    );
  }

  /** Sets the wall clock to read `wallMs` now. */
  async set(wallMs: number): Promise<void> {
    await this.step(wallMs - Date.now());
  }

  uninstall(): void {
    vi.restoreAllMocks();
  }
}

export const YEAR_MS = 365 * 86_400_000;
export const HOUR_MS = 3_600_000;
