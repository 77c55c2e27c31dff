import { afterAll, describe, expect, it, vi } from 'vitest';
import { PolicyThread } from '../../daemon/system1/policy-thread.ts';
import { tempDir } from '../helpers/cli.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { policySettings, writeSlowChunkModel, writeSlowModel } from './models.ts';

// onnxruntime-node's session.run computes on the calling thread; terminating a worker thread while it is
// in a run aborted the whole process ("terminate called after throwing an instance of 'Napi::Error'"),
// which here would kill vitest's fork and fail the file. A daemon stop, a SIGHUP reload or the end of a
// run_policy call did that whenever a slow policy was mid-inference.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const wait = { timeout: 30_000, interval: 20 };

describe('stopping threads that are inside an inference', () => {
  it('stops an async chunk loop while its inference thread runs, sending the safe action last', async () => {
    const model = writeSlowChunkModel(tmp.path, 2);
    // K = 2 at 100 Hz with a run of a few hundred ms: the inference thread is nearly always in a run.
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, on_underrun: 'skip' },
      { inputs: CONSTANT_OBS },
    );
    await control.start();
    await vi.waitFor(() => expect(control.stats().chunks).toBeGreaterThanOrEqual(2), wait);
    await control.close();
    expect(commands.at(-1)).toEqual({ values: [0, 0], safe: true });
    bus.close();
  });

  it('closes a served policy while a query runs: the query is answered and the thread exits', async () => {
    const thread = await PolicyThread.open('slow', policySettings({ model: writeSlowModel(tmp.path) }));
    await thread.run({ obs: Float32Array.of(1, 2) });
    const query = thread.run({ obs: Float32Array.of(1, 2) });
    await vi.waitFor(() => expect(thread.running).toBe(true), wait); // inside that run (it takes hundreds of ms)
    await thread.close();
    const outputs = await query;
    expect(outputs.actions!.data).toHaveLength(2);
    expect(thread.dead?.message).toMatch(/closed/);
  });
});
