import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeChunkModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * The chunk model's action k is (k + 1) x obs, and obs is the constant [1, -1]: with latest_only, the first
 * element of each command says which action of its chunk the robot got (1 for the chunk's first action).
 */
const chunking = (inference: 'async' | 'inline') => ({
  inference,
  threshold: 0.5,
  aggregate: 'latest_only' as const,
  inference_timeout_ms: 1000,
});

async function run(inference: 'async' | 'inline', rateHz: number, chunks: number): Promise<number[]> {
  const { bus, control, commands } = loopHarness(
    writeChunkModel(tmp.path, 4),
    { rate_hz: rateHz, chunking: chunking(inference) },
    { inputs: CONSTANT_OBS },
  );
  await control.start();
  try {
    await waitFor(() => control.stats().chunks >= chunks, `${chunks} chunks`);
  } finally {
    await control.close();
    bus.close();
  }
  return commands.filter((c) => !c.safe).map((c) => c.values[0]!);
}

describe('chunk timesteps line up with the observation they were planned from', () => {
  it("async: as LeRobot's client, the observation taken at step t is stamped t, so the chunk's second action runs at t + 1", async () => {
    // LeRobot's robot_client pops the action of step t, then (queue at the threshold) sends the observation
    // stamped t; the chunk back covers t..t+3: t is done, t+1 gets its second action (2). Stamped t - 1, the
    // chunk would run its third action (3) at t + 1, a step ahead of its plan, and never its second.
    const executed = await run('async', 20, 30);
    // Each chunk that came back within a tick gives a 2; only the very first chunk may give a 2 otherwise.
    expect(executed.filter((v) => v === 2).length).toBeGreaterThan(1);
  });

  it('inline: a chunk computed in the tick runs its first action in that tick', async () => {
    const executed = await run('inline', 50, 10);
    // The tick that runs the policy executes the fresh chunk's first action (1), every time, not only at the start.
    expect(executed.filter((v) => v === 1).length).toBeGreaterThan(1);
    expect(executed.every((v) => v === 1 || v === 2)).toBe(true);
  });
});
