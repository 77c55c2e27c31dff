// isolated: fakes the wall clock (vitest.config.ts)
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { nowNs } from '../../daemon/util/time.ts';
import { tempDir } from '../helpers/cli.ts';
import { loopHarness } from './loop-harness.ts';
import { writeLinearModel } from './models.ts';

// A robot without an RTC boots with a wrong clock and NTP steps it, often by years, while the daemon runs.
// The step is played here on the main thread's Date.now, which the bus's clock (nowNs) follows within a
// second; the loop's worker thread keeps the real clock, as a thread started before the step would.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());

const HOUR_MS = 3_600_000;
const wait = { timeout: 30_000, interval: 20 };

function stepWallClock(byMs: number): void {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() + byMs);
}

/** Until the bus's clock has taken a step of `byMs` (it re-syncs with the wall clock once a second). */
async function busClockStepped(byMs: number): Promise<void> {
  const realNs = () => BigInt(Date.now() - byMs) * 1_000_000n;
  await vi.waitFor(
    () =>
      expect(
        byMs > 0
          ? nowNs() > realNs() + BigInt(byMs / 2) * 1_000_000n
          : nowNs() < realNs() - BigInt(-byMs / 2) * 1_000_000n,
      ).toBe(true),
    wait,
  );
}

describe('control loop across wall-clock steps', () => {
  it('after a step forward, a topic that stops publishing still goes stale, and the loop stays alive', async () => {
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    const { bus, control, commands, publishing } = loopHarness(
      model,
      { rate_hz: 50, max_observation_age_ms: 500 },
      { livenessTimeoutMs: 60_000 },
    );
    await control.start();
    const stopPublishing = publishing([1.5, -2]);
    try {
      stepWallClock(HOUR_MS);
      await busClockStepped(HOUR_MS);
      const afterStep = commands.length;
      await vi.waitFor(() => expect(commands.slice(afterStep).some((c) => !c.safe)).toBe(true), wait);
      expect(control.alive()).toBe(true);
      stopPublishing();
      const afterSilence = commands.length;
      // Before the fix the observation, stamped an hour ahead of the loop's clock, stayed fresh for that hour.
      await vi.waitFor(() => expect(commands.slice(afterSilence).some((c) => c.safe)).toBe(true), wait);
    } finally {
      stopPublishing();
      await control.close();
      bus.close();
    }
  });

  it('after a step back, fresh observations still drive the policy instead of all counting as stale', async () => {
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    const { bus, control, commands, publishing } = loopHarness(
      model,
      { rate_hz: 50, max_observation_age_ms: 500 },
      { livenessTimeoutMs: 60_000 },
    );
    await control.start();
    const stopPublishing = publishing([0.5, 0.25]);
    try {
      stepWallClock(-HOUR_MS);
      await busClockStepped(-HOUR_MS);
      const afterStep = commands.length;
      await vi.waitFor(
        () => expect(commands.slice(afterStep).some((c) => !c.safe && c.values[0] === 0.5)).toBe(true),
        wait,
      );
    } finally {
      stopPublishing();
      await control.close();
      bus.close();
    }
  });
});
