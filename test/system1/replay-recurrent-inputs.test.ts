import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { runMain, testConfig, tempDir } from '../helpers/cli.ts';
import { copyG1Dataset } from './datasets.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** x [1, 26] and h_in [1, 26] -> y = x + h_in, h_out = x: a policy with a recurrent input over the fixture's state. */
function writeRecurrent26(dir: string): string {
  const g = new OnnxGraphBuilder();
  const x = g.input('x', [1, 26]);
  const h = g.input('h_in', [1, 26]);
  g.node('Add', [x, h], {}, 'y');
  g.node('Identity', [x], {}, 'h_out');
  g.output('y', [1, 26]);
  g.output('h_out', [1, 26]);
  const path = join(dir, 'recurrent26.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

describe("policy replay --config keeps the manifest's recurrent inputs with --normalize", () => {
  it("replays a configured recurrent policy with the dataset's statistics as it does without them", async () => {
    const model = writeRecurrent26(tmp.path);
    const config = testConfig(
      tmp.path,
      `policies:\n  rec:\n    model: ${model}\n    inputs:\n      h_in:\n        recurrent: h_out\n`,
    );
    const dataset = copyG1Dataset(tmp.path);
    const args = [
      'policy',
      'replay',
      'rec',
      dataset,
      '--config',
      config,
      '--input',
      'x=observation.state',
      '--output',
      'y',
      '--episodes',
      '0',
      '--json',
    ];
    const plain = await runMain(args);
    expect(plain.stderr).toBe('');
    expect(plain.code).toBe(0);

    const normalized = await runMain([...args, '--normalize', 'mean_std']);
    expect(normalized.stderr).toBe('');
    expect(normalized.code).toBe(0);
    const report = JSON.parse(normalized.stdout);
    expect(report.inputs).toEqual({ x: 'observation.state' });
    expect(report.frames).toBe(JSON.parse(plain.stdout).frames);
  });
});
