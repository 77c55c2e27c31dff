import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { loopHarness } from './loop-harness.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** obs [1, 2] -> actions [1, 1] = sqrt(obs[0]) + 0 * obs[1]: NaN for a negative obs[0]. */
function writeSqrtWithPrevious(dir: string): string {
  const g = new OnnxGraphBuilder();
  const obs = g.input('obs', [1, 2]);
  const lin = g.dense(obs, Float32Array.of(1, 0), new Float32Array(1), 'none', 'pick');
  g.node('Sqrt', [lin], {}, 'actions');
  g.output('actions', [1, 1]);
  const path = join(dir, 'sqrt-previous.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

/** obs [1, 1], h_in [1, 1] -> actions = sqrt(obs) + 0 * h_in, h_out = actions: a NaN once carries on in h. */
function writeSqrtRecurrent(dir: string): string {
  const g = new OnnxGraphBuilder();
  const obs = g.input('obs', [1, 1]);
  const h = g.input('h_in', [1, 1]);
  const kept = g.node('Mul', [h, g.floats('zero', [1], [0])]);
  const y = g.node('Add', [g.node('Sqrt', [obs]), kept], {}, 'actions');
  g.node('Identity', [y], {}, 'h_out');
  g.output('actions', [1, 1]);
  g.output('h_out', [1, 1]);
  const path = join(dir, 'sqrt-recurrent.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

const cases = [
  {
    what: 'a previous_output source',
    model: writeSqrtWithPrevious,
    inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }, { previous_output: 'actions' }] } },
  },
  {
    what: 'a recurrent input',
    model: writeSqrtRecurrent,
    inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] }, h_in: { recurrent: 'h_out' } },
  },
];

describe('a step loop whose policy once returned NaN drives again on good observations', () => {
  for (const c of cases) {
    it(`with ${c.what}`, async () => {
      const { bus, control, commands, publishing } = loopHarness(
        c.model(tmp.path),
        { rate_hz: 100, max_observation_age_ms: 500 },
        { inputs: c.inputs },
      );
      await control.start();
      let stopPublishing = publishing([-1]);
      try {
        await waitFor(() => control.stats().nonFinite > 0, 'a non-finite action');
        stopPublishing();
        stopPublishing = publishing([4]);
        // sqrt(4): the NaN of a step before must not live on in what the policy is fed.
        await waitFor(() => commands.some((m) => !m.safe && m.values[0] === 2), 'the policy action 2 after the NaN');
      } finally {
        stopPublishing();
        await control.close();
        bus.close();
      }
      expect(control.stats().nonFinite).toBeGreaterThan(0);
    });
  }
});
