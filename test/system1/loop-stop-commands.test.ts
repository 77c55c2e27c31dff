import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeLinearModel } from './models.ts';

// A stop (the operator's, or the end of run_policy) zeroes the robot first and then stops the loop. The
// loop thread posts its commands to the main thread, which publishes them: commands it posted before it
// heard of the stop are still on their way. None of them may reach the robot after stop() was called, or
// the robot moves again after the stop's zero Twist; only the safe action goes out from then on.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('ControlLoop.stop', () => {
  it('publishes no policy command after stop() is called, only the safe action', async () => {
    const model = writeLinearModel(tmp.path, 'moving', [1, 0, 0, 1], [0, 0]);
    const { bus, control, commands, published } = loopHarness(
      model,
      { rate_hz: 200, safe_action: [0, 0] },
      { inputs: CONSTANT_OBS },
    );
    await control.start();
    try {
      await waitFor(() => commands.some((c) => !c.safe), 'a policy command');
      // Keep the main thread busy for 50 ms, as a burst of other work does: the loop thread's commands of
      // those ticks (about 10 at 200 Hz) wait in its message queue.
      const busyUntil = performance.now() + 50;
      while (performance.now() < busyUntil);
      const before = published.length;
      const stopping = control.close();
      await stopping;
      const after = published.slice(before);
      expect(after.length, 'the safe action on the way out').toBeGreaterThan(0);
      expect(
        after.filter((c) => c[0] !== 0 || c[1] !== 0),
        'policy commands published after stop()',
      ).toEqual([]);
    } finally {
      await control.close();
      bus.close();
    }
  });
});
