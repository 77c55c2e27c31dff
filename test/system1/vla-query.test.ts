import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { decodeTensors, encodeTensors, TENSOR_ENCODING } from '../../daemon/contract/tensor-codec.ts';
import { VlaService } from '../../daemon/system1/vla-service.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { FIXTURES, tempDir } from '../helpers/cli.ts';
import { policySettings, writeChunkModel } from './models.ts';

const tmp = tempDir();
const bus = new Bus();
const runners: PolicyRunner[] = [];

beforeAll(async () => {
  const ctl = await PolicyRunner.open(
    'controller',
    policySettings({ model: `${FIXTURES}/onnx/onnxruntime_controller/policy.onnx` }),
  );
  const chunk = await PolicyRunner.open('chunky', policySettings({ model: writeChunkModel(tmp.path, 4) }));
  runners.push(ctl, chunk);
  new VlaService(bus, ctl);
  new VlaService(bus, chunk);
});
afterAll(async () => {
  bus.close();
  for (const r of runners) await r.close();
  tmp.cleanup();
});

const ask = async (policy: string, payload: Uint8Array, encoding = TENSOR_ENCODING) => {
  const reply = await bus.query(`ai/inference/vla/${policy}`, { encoding, payload });
  expect(reply.encoding).toBe(TENSOR_ENCODING);
  return decodeTensors(reply.payload);
};

describe('ai/inference/vla/<policy>', () => {
  it('answers an observation with the action chunk and the same result as a direct run', async () => {
    const obs = Float32Array.from({ length: 13 }, (_, i) => i / 13);
    const reply = await ask(
      'controller',
      encodeTensors([{ name: 'obs', shape: [1, 13], data: obs }], { timestep: 42 }),
    );
    const direct = (await runners[0]!.run({ obs })).actions!;
    expect(reply.fields).toMatchObject({ policy: 'controller', chunk: 1, timestep: 42 });
    expect(reply.tensors[0]!.name).toBe('actions');
    expect(reply.tensors[0]!.shape).toEqual([1, 2]);
    expect(Array.from(reply.tensors[0]!.data)).toEqual(Array.from(direct.data));
  });

  it('returns a whole chunk for a chunk policy', async () => {
    const reply = await ask('chunky', encodeTensors([{ name: 'obs', shape: [1, 2], data: Float32Array.of(1, -1) }]));
    expect(reply.fields.chunk).toBe(4);
    expect(reply.tensors[0]!.shape).toEqual([1, 4, 2]);
    expect(Array.from(reply.tensors[0]!.data)).toEqual([1, -1, 2, -2, 3, -3, 4, -4]);
  });

  it.each([
    ['a wrong shape', encodeTensors([{ name: 'obs', shape: [1, 12], data: new Float32Array(12) }]), 'bad_shape'],
    ['a NaN', encodeTensors([{ name: 'obs', shape: [1, 13], data: new Float32Array(13).fill(NaN) }]), 'not_finite'],
    ['a missing input', encodeTensors([]), 'missing_input'],
    [
      'an unknown input',
      encodeTensors([
        { name: 'obs', shape: [1, 13], data: new Float32Array(13) },
        { name: 'x', shape: [1], data: new Float32Array(1) },
      ]),
      'unknown_input',
    ],
    ['a float64 tensor', withDtype('float64'), 'bad_dtype'],
    ['garbage bytes', Uint8Array.of(1, 2, 3, 4, 5, 6), 'bad_payload'],
  ])('answers %s with an error reply, and keeps serving', async (_what, payload, code) => {
    const reply = await ask('controller', payload);
    expect((reply.fields.error as { code: string }).code).toBe(code);
    expect(reply.tensors).toEqual([]);
    const ok = await ask('controller', encodeTensors([{ name: 'obs', shape: [1, 13], data: new Float32Array(13) }]));
    expect(ok.fields.error).toBeUndefined();
  });

  it('answers a wrong encoding with an error reply', async () => {
    const reply = await ask('controller', new TextEncoder().encode('{}'), 'text/plain');
    expect((reply.fields.error as { code: string; message: string }).code).toBe('bad_encoding');
  });
});

describe('ai/inference/vla/<policy> with a JSON request (mjlab_microban)', () => {
  const askJson = async (input: unknown) => askJsonText(JSON.stringify(input));
  const askJsonText = async (text: string) => {
    const reply = await bus.query('ai/inference/vla/microban', {
      encoding: 'application/json',
      payload: new TextEncoder().encode(text),
    });
    expect(reply.encoding).toBe('application/json');
    return JSON.parse(new TextDecoder().decode(reply.payload)) as {
      error?: { code: string; message: string };
      outputs?: Record<string, { shape: number[]; data: number[][] }>;
      chunk?: number;
    };
  };
  const obs = Array.from({ length: 63 }, (_, i) => Math.round(Math.sin(i) * 100) / 100);
  let service: VlaService;
  /** A list of n whose first item is `first` and the rest zeros: a few KB whose first rows claim n x n x ... */
  const firstRow = (n: number, first: unknown) => [first, ...new Array<number>(n - 1).fill(0)];

  beforeAll(async () => {
    const microban = await PolicyRunner.open(
      'microban',
      policySettings({ model: `${FIXTURES}/onnx/mjlab_microban/policy.onnx` }),
    );
    runners.push(microban);
    service = new VlaService(bus, microban);
  });

  it('encodes nested lists with the declared shape and answers the outputs as nested lists, as the binary request does', async () => {
    const binary = await ask(
      'microban',
      encodeTensors([{ name: 'obs', shape: [1, 63], data: Float32Array.from(obs) }]),
    );
    const flat = await askJson({ obs });
    const nested = await askJson({ obs: [obs] });
    expect(flat.error).toBeUndefined();
    expect(flat.chunk).toBe(1);
    expect(flat.outputs!.actions!.shape).toEqual([1, 18]);
    expect(flat.outputs!.actions!.data).toEqual([Array.from(binary.tensors[0]!.data)]);
    expect(nested.outputs).toEqual(flat.outputs);
  });

  it.each([
    ['a wrong length', { obs: obs.slice(1) }, 'bad_shape', '[62]'],
    ['a transposed shape', { obs: obs.map((v) => [v]) }, 'bad_shape', '[63,1]'],
    ['a ragged list', { obs: [obs, [1]] }, 'bad_shape', 'obs"[1]'],
    ['a null (NaN in JSON)', { obs: obs.map((v, i) => (i === 5 ? null : v)) }, 'not_finite', 'obs"[5] is null'],
    [
      'a number past float32',
      { obs: obs.map((v, i) => (i === 2 ? 1e39 : v)) },
      'not_finite',
      'obs"[2] is 1e+39, outside the float32 range',
    ],
    // The shape is read off the first rows: 10^12 elements, once allocated before the rows were checked (a RangeError
    // out of handle).
    [
      'first rows that claim 10^12 elements',
      { obs: firstRow(10_000, firstRow(10_000, firstRow(10_000, 0))) },
      'bad_shape',
      'obs"[0][1] is 0',
    ],
    [
      'a rectangular list of another shape, however large',
      { obs: Array.from({ length: 64 }, () => obs) },
      'bad_shape',
      'has shape [64,63]; the model takes [1,63]',
    ],
    ['a string', { obs: obs.map((v, i) => (i === 0 ? '0.1' : v)) }, 'bad_dtype', 'obs"[0] is "0.1"'],
    ['an unknown input name', { obs, state: [1] }, 'unknown_input', '"state"'],
    ['a missing input', {}, 'missing_input', '"obs"'],
    ['a list in place of the inputs object', [obs], 'bad_payload', '{"obs": [...]}'],
  ])('answers %s with a JSON error reply', async (_what, input, code, text) => {
    const reply = await askJson(input);
    expect(reply.error?.code).toBe(code);
    expect(reply.error?.message).toContain(text);
    expect(reply.outputs).toBeUndefined();
  });

  it('answers lists nested far deeper than the model takes with bad_shape, not a stack overflow', async () => {
    const depth = 200_000;
    const reply = await askJsonText(`{"obs": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(reply.error).toEqual({
      code: 'bad_shape',
      message: 'input "obs" nests lists more than 6 deep; the model takes [1,63]',
    });
  });

  it.each([
    ['a megabyte string', { obs: 'x'.repeat(1_000_000) }, 'bad_dtype'],
    ['a megabyte input name', { ['k'.repeat(1_000_000)]: obs }, 'unknown_input'],
    ['a megabyte string in place of the inputs object', 'x'.repeat(1_000_000), 'bad_payload'],
  ])('quotes only the start of %s in its error', async (_what, input, code) => {
    const reply = await askJson(input);
    expect(reply.error?.code).toBe(code);
    expect(reply.error?.message).toContain('... (1000000 characters)');
    expect(reply.error!.message.length).toBeLessThan(400);
  });

  it('answers a payload that fails to decode in a way no check foresaw with bad_payload, never an exception', async () => {
    const payload = new Uint8Array(16);
    Object.defineProperty(payload, 'byteLength', {
      get() {
        throw new RangeError('unforeseen');
      },
    });
    for (const encoding of [TENSOR_ENCODING, 'application/json']) {
      const reply = await service.handle({ encoding, payload });
      const text =
        encoding === TENSOR_ENCODING
          ? JSON.stringify(decodeTensors(reply.payload).fields)
          : new TextDecoder().decode(reply.payload);
      expect(text).toContain('bad_payload');
    }
  });
});

function withDtype(dtype: string): Uint8Array {
  const bytes = encodeTensors([{ name: 'obs', shape: [1, 13], data: new Float32Array(13) }]);
  const n = new DataView(bytes.buffer).getUint32(0, true);
  const header = new TextDecoder()
    .decode(bytes.subarray(4, 4 + n))
    .replace('"float32"', JSON.stringify(dtype).padEnd(9, ' '));
  bytes.set(new TextEncoder().encode(header), 4);
  return bytes;
}
