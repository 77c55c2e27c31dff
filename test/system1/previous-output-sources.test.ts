import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { loopHarness } from './loop-harness.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * obs [1, 4] -> state [1, 2] = obs[0:2] + obs[2:4], and actions [1, K, 2]: K copies of state. With
 * obs = [1, 1, previous state], state counts up by one per run: 1, 2, 3, ...
 */
function writeCountingChunkModel(dir: string, k: number): string {
  const g = new OnnxGraphBuilder();
  const obs = g.input('obs', [1, 4]);
  const state = g.dense(obs, Float32Array.of(1, 0, 1, 0, 0, 1, 0, 1), new Float32Array(2), 'none', 'sum', 'state');
  const tiled = g.node('Tile', [state, g.int64s('reps', [1, k])]);
  g.node('Reshape', [tiled, g.int64s('shape', [1, k, 2])], {}, 'actions');
  g.output('actions', [1, k, 2]);
  g.output('state', [1, 2]);
  const path = join(dir, `counting${k}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}

describe('previous_output sources of a chunk policy run inline', () => {
  it("feed the previous run's output, not zeros", async () => {
    const model = writeCountingChunkModel(tmp.path, 4);
    const { bus, control, commands } = loopHarness(
      model,
      {
        rate_hz: 100,
        chunking: { inference: 'inline', threshold: 0.5, aggregate: 'latest_only', inference_timeout_ms: 1000 },
      },
      {
        inputs: { obs: { sources: [{ constant: [1, 1] }, { previous_output: 'state' }] } },
      },
    );
    await control.start();
    try {
      expect(control.stats().mode).toBe('inline');
      // The third run was fed the second's state [2, 2]: its actions are [3, 3].
      await waitFor(() => control.stats().chunks >= 4, 'four chunks', 20_000);
    } finally {
      await control.close();
      bus.close();
    }
    const acted = commands.filter((c) => !c.safe).map((c) => c.values);
    expect(acted[0]).toEqual([1, 1]);
    expect(acted).toContainEqual([3, 3]);
  });

  it('refuse at start a previous_output naming an output of several actions, whose length is no one action', async () => {
    const model = writeCountingChunkModel(tmp.path, 3);
    const { bus, control } = loopHarness(
      model,
      {
        rate_hz: 100,
        chunking: { inference: 'inline', threshold: 0.5, aggregate: 'latest_only', inference_timeout_ms: 1000 },
      },
      {
        inputs: { obs: { sources: [{ constant: [1, 1] }, { previous_output: 'actions' }] } },
      },
    );
    await expect(control.start()).rejects.toThrow(
      /policies\.p\.inputs\.obs\.sources\[1\]\.previous_output: output actions \[1,3,2\] holds 3 actions/,
    );
    bus.close();
  });
});
