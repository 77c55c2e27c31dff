import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeSlowChunkModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const wait = { timeout: 30_000, interval: 20 };

describe('action chunking faults', () => {
  it('on_underrun: hold holds the last action for max_observation_age_ms at most, then sends the safe action', async () => {
    const model = writeSlowChunkModel(tmp.path, 2);
    // Constant inputs: no observation can go stale, so a safe action can only come from the hold running out.
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 50, on_underrun: 'hold' },
      { inputs: CONSTANT_OBS },
    );
    await control.start();
    try {
      expect(control.stats().mode).toBe('async');
      await vi.waitFor(() => expect(commands.some((c) => !c.safe)).toBe(true), wait);
      const first = commands.findIndex((c) => !c.safe);
      expect(commands[first]!.values[0]).toBeCloseTo(1, 2);
      // Before the fix the loop held that action until the next chunk came, however late.
      await vi.waitFor(() => expect(commands.slice(first).some((c) => c.safe)).toBe(true), wait);
      expect(control.stats().underruns).toBeGreaterThan(0);
    } finally {
      await control.close();
      bus.close();
    }
  });
});
