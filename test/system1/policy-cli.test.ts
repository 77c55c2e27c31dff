import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';
import { copyG1Dataset, rewriteParquet } from './datasets.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const { onnx } = onnxProto;

/** Decodes a model, changes it, writes it back. */
function editModel(path: string, change: (model: onnxProto.onnx.ModelProto) => void): string {
  const model = onnx.ModelProto.decode(readFileSync(path));
  change(model);
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return path;
}

/** The identity policy over the fixture's 26-element state: action = observation.state. */
const identity26 = (name: string): string =>
  writeLinearModel(
    tmp.path,
    name,
    Array.from({ length: 26 * 26 }, (_, i) => (i % 27 === 0 ? 1 : 0)),
    new Array(26).fill(0),
  );

describe('auraison-edge policy inspect prints what the file holds, safely', () => {
  it('escapes control characters in metadata_props and says when an input has no shape', async () => {
    const model = editModel(
      writeLinearModel(tmp.path, 'odd', [1, 0, 0, 1], [0, 0], { 'x\u001b[31mRED': 'a\nb\u0000c' }),
      (m) => {
        m.graph!.input![0]!.type!.tensorType!.shape = null;
        m.graph!.output![0]!.type = onnx.TypeProto.create({ sequenceType: {} });
      },
    );
    const r = await runMain(['policy', 'inspect', model]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000\u001b]/);
    expect(r.stdout).toContain('x\\x1b[31mRED');
    expect(r.stdout).toContain('a\\nb\\0c');
    expect(r.stdout).toMatch(/^ {2}obs\s+float32\s+shape unknown \(any rank\)$/m);
    expect(r.stdout).toMatch(/^ {2}actions\s+non-tensor$/m);
    const json = JSON.parse((await runMain(['policy', 'inspect', model, '--json'])).stdout);
    expect(json.inputs[0]).toEqual({ name: 'obs', dtype: 'float32', shape: [], shapeUnknown: true });
    expect(json.metadata['x\u001b[31mRED']).toBe('a\nb\u0000c');
  });
});

describe('auraison-edge policy replay says where the data or the policy went wrong', () => {
  it('refuses a model with no outputs in words', async () => {
    const model = editModel(identity26('nooutputs'), (m) => {
      m.graph!.output = [];
    });
    const r = await runMain(['policy', 'replay', model, copyG1Dataset(tmp.path)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`auraison-edge policy replay: ${model} has no outputs\n`);
  });

  it('names the episode and frame of a NULL or ragged observation', async () => {
    const model = identity26('identity-a');
    const nulls = copyG1Dataset(tmp.path);
    const file = (root: string) => join(root, 'data', 'chunk-000', 'episode_000001.parquet');
    await rewriteParquet(
      file(nulls),
      `SELECT * REPLACE (CASE WHEN frame_index = 7 THEN NULL ELSE "observation.state" END AS "observation.state") FROM t ORDER BY frame_index`,
    );
    const r = await runMain(['policy', 'replay', model, nulls]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('episode 1 frame 7: observation.state is NULL');

    const ragged = copyG1Dataset(tmp.path);
    await rewriteParquet(
      file(ragged),
      `SELECT * REPLACE (CASE WHEN frame_index = 9 THEN "observation.state"[1:20] ELSE "observation.state" END AS "observation.state") FROM t ORDER BY frame_index`,
    );
    const r2 = await runMain(['policy', 'replay', model, ragged]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(
      /^auraison-edge policy replay: episode 1 frame 9: .*input "obs" has 20 elements; the model takes \[1,26\] = 26/,
    );
  });

  it('names episodes asked for that the dataset lacks, instead of replaying fewer', async () => {
    const r = await runMain([
      'policy',
      'replay',
      identity26('identity-b'),
      copyG1Dataset(tmp.path),
      '--episodes',
      '0,1,4,7',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no frames for episodes 4, 7');
  });

  it('with --normalize and a bare model, names the dataset feature and the model tensor whose sizes differ, not a config path', async () => {
    const microban = join(FIXTURES, 'onnx', 'mjlab_microban', 'policy.onnx');
    const input = await runMain(['policy', 'replay', microban, copyG1Dataset(tmp.path), '--normalize', 'mean_std']);
    expect(input.code).toBe(1);
    expect(input.stderr).toBe(
      'auraison-edge policy replay: --normalize mean_std: the dataset\'s observation.state statistics have 26 values, but model input "obs" has 63 per step; map it to a feature of that size with --input obs=FEATURE, or replay without --normalize\n',
    );
    const narrow = writeLinearModel(tmp.path, 'narrow', new Array(18 * 26).fill(0), new Array(18).fill(0));
    const output = await runMain(['policy', 'replay', narrow, copyG1Dataset(tmp.path), '--normalize', 'min_max']);
    expect(output.code).toBe(1);
    expect(output.stderr).toContain(
      'the dataset\'s action statistics have 26 values, but model output "actions" has 18 per step; name the action feature of that size with --action FEATURE',
    );
    expect(output.stderr).not.toContain('policies.');
  });

  it('fails a policy whose actions are not finite instead of reporting MAE Infinity', async () => {
    const model = writeLinearModel(tmp.path, 'inf26', new Array(26 * 26).fill(0), new Array(26).fill(Infinity));
    const r = await runMain(['policy', 'replay', model, copyG1Dataset(tmp.path), '--episodes', '0']);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the policy's actions is not finite in 479 of 479 frames (first: episode 0 frame 0, element 0 = Infinity)",
    );
  });
});
