import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { loopHarness } from './loop-harness.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('a message that does not fit the policy is skipped whole', () => {
  it('no slice of it reaches the policy, so the observation is never half one message and half the one before', async () => {
    const model = writeLinearModel(tmp.path, 'identity-two', [1, 0, 0, 1], [0, 0]);
    const { bus, control, commands, send, publishing } = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 5000 },
      {
        inputs: {
          obs: {
            sources: [
              { topic: '/obs', field: 'data', indices: [0] },
              { topic: '/obs', field: 'data', indices: [1] },
            ],
          },
        },
      },
    );
    await control.start();
    const stopPublishing = publishing([1, 2]);
    try {
      await waitFor(
        () => commands.some((c) => !c.safe && c.values[0] === 1 && c.values[1] === 2),
        'the policy action [1, 2]',
      );
      stopPublishing();
      // data [5] fits the first slice and not the second (no element 1): the message is skipped.
      send([5]);
      const mark = commands.length;
      await waitFor(
        () => control.stats().observationErrors > 0 && commands.length >= mark + 10,
        'ten ticks after the skipped message',
      );
    } finally {
      stopPublishing();
      await control.close();
      bus.close();
    }
    expect(commands.filter((c) => c.values[0] === 5)).toEqual([]);
  });
});
