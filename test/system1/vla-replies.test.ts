import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { OnnxGraphBuilder } from '../../sim/scan-policy/onnx-builder.ts';
import { decodeTensors, encodeTensors, TENSOR_ENCODING } from '../../daemon/contract/tensor-codec.ts';
import { VlaService } from '../../daemon/system1/vla-service.ts';
import { startHarness, type Harness } from '../api/harness.ts';
import { http } from '../api/http.ts';
import { tempDir } from '../helpers/cli.ts';
import { policySettings, writeLinearModel } from './models.ts';

const tmp = tempDir();
let h: Harness;
const runners: PolicyRunner[] = [];

/** actions = sqrt(obs): a negative observation makes a NaN action. */
function writeSqrtModel(dir: string): string {
  const g = new OnnxGraphBuilder();
  g.node('Sqrt', [g.input('obs', [1, 2])], {}, 'actions');
  g.output('actions', [1, 2]);
  const path = join(dir, 'sqrt.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

beforeAll(async () => {
  h = await startHarness();
  for (const [name, model] of [
    ['sqrt', writeSqrtModel(tmp.path)],
    ['lin', writeLinearModel(tmp.path, 'lin', [1, 0, 0, 1], [0, 0])],
  ] as const) {
    const runner = await PolicyRunner.open(name, policySettings({ model }));
    runners.push(runner);
    new VlaService(h.bus, runner);
  }
});
afterAll(async () => {
  await h.close();
  for (const r of runners) await r.close();
  tmp.cleanup();
});

const obs = (shape: number[], values: number[]) =>
  encodeTensors([{ name: 'obs', shape, data: Float32Array.from(values) }]);
const ask = async (policy: string, payload: Uint8Array) =>
  decodeTensors((await h.bus.query(`ai/inference/vla/${policy}`, { encoding: TENSOR_ENCODING, payload })).payload);
const post = (policy: string, payload: Uint8Array) =>
  http(h.url, `/inference/vla/${policy}`, {
    body: { payload_base64: Buffer.from(payload).toString('base64'), encoding: TENSOR_ENCODING },
  });

describe('ai/inference/vla/<policy> replies', () => {
  it('refuses a NaN or infinite output with non_finite_output, naming the output and element', async () => {
    const reply = await ask('sqrt', obs([1, 2], [-1, 4]));
    expect(reply.fields.error).toEqual({
      code: 'non_finite_output',
      message: 'policy sqrt: output "actions" element 0 is NaN; no outputs returned',
    });
    expect(reply.tensors).toEqual([]);
    expect(Array.from((await ask('sqrt', obs([1, 2], [1, 4]))).tensors[0]!.data)).toEqual([1, 2]);
  });

  it('refuses a shape with the right element count but the wrong layout; a missing batch dimension is fine', async () => {
    for (const shape of [
      [2, 1],
      [1, 1, 2, 1],
    ]) {
      const reply = await ask('lin', obs(shape, [1, 2]));
      expect(reply.fields.error).toEqual({
        code: 'bad_shape',
        message: `policy lin: input "obs" has shape ${JSON.stringify(shape)}; the model takes [1,2]`,
      });
    }
    for (const shape of [[1, 2], [2], [1, 1, 2]])
      expect((await ask('lin', obs(shape, [1, 2]))).fields.error).toBeUndefined();
  });

  it('maps error replies to HTTP statuses over POST /inference/vla', async () => {
    const ok = await post('lin', obs([1, 2], [1, 2]));
    expect(ok.status).toBe(200);
    const shape = await post('lin', obs([2, 1], [1, 2]));
    expect(shape.status).toBe(400);
    expect(shape.json).toMatchObject({ error: 'bad_shape' });
    const nan = await post('sqrt', obs([1, 2], [-1, 4]));
    expect(nan.status).toBe(502);
    expect(nan.json).toMatchObject({ error: 'non_finite_output' });
    const json = await http(h.url, '/inference/vla/lin', { body: { input: { obs: [1, 2] } } });
    expect(json.status).toBe(200);
    const jsonShape = await http(h.url, '/inference/vla/lin', { body: { input: { obs: [[1], [2]] } } });
    expect([jsonShape.status, jsonShape.json.error]).toEqual([400, 'bad_shape']);
    const jsonNan = await http(h.url, '/inference/vla/sqrt', { body: { input: { obs: [-1, 4] } } });
    expect([jsonNan.status, jsonNan.json.error]).toEqual([502, 'non_finite_output']);
    const text = await http(h.url, '/inference/vla/lin', {
      body: { payload_base64: Buffer.from('obs=1,2').toString('base64'), encoding: 'text/plain' },
    });
    expect(text.status).toBe(400);
    expect(text.json).toMatchObject({ error: 'bad_encoding' });
  });
});
