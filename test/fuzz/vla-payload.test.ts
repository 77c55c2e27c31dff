import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import {
  decodeTensors,
  encodeTensors,
  TENSOR_ENCODING,
  TensorCodecError,
  type TensorImage,
} from '../../daemon/contract/tensor-codec.ts';
import { VlaService } from '../../daemon/system1/vla-service.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { tempDir } from '../helpers/cli.ts';
import { policySettings, writeLinearModel } from '../system1/models.ts';
import { writeChannelMeanModel } from '../system1/vision-models.ts';
import { fuzz, replaying, type Gen } from './fuzz-kit.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * `ai/inference/vla/<policy>` fuzzed in-process against a real ONNX policy (obs [1, 2] -> actions [1, 2]):
 * every request, however damaged, gets an error reply in the request's encoding, never a thrown error (the
 * bus would call it handler_error, HTTP 502), and the decoder never makes more tensor bytes than it was sent.
 */

const tmp = tempDir();
const bus = new Bus();
let runner: PolicyRunner;
let service: VlaService;

beforeAll(async () => {
  runner = await PolicyRunner.open(
    'lin',
    policySettings({ model: writeLinearModel(tmp.path, 'lin', [2, 0, 0, 3], [1, -1]) }),
  );
  service = new VlaService(bus, runner);
});
afterAll(async () => {
  await service.close();
  bus.close();
  await runner.close();
  tmp.cleanup();
});

/**
 * Error codes a reply may carry here: a caller's bad request (HTTP 400), or an output the model made
 * non-finite from a finite input near the float32 range (502). Never `inference_failed`: the model only
 * fails on what the checks before it let through.
 */
const REPLY_ERRORS = new Set([
  'bad_payload',
  'bad_dtype',
  'bad_shape',
  'not_finite',
  'missing_input',
  'unknown_input',
  'non_finite_output',
  'bad_image',
]);

/** The model's actions for `obs`, run directly (the oracle for an answered request). */
const direct = async (obs: Float32Array | Uint8Array): Promise<number[]> =>
  Array.from((await runner.run({ obs })).actions!.data);

const valid = (gen: Gen): Uint8Array =>
  encodeTensors(
    [
      {
        name: 'obs',
        shape: gen.pick([[1, 2], [2], [1, 1, 2]]),
        data: Float32Array.of(gen.number() % 1000, gen.float()),
      },
    ],
    gen.bool() ? { timestep: gen.int(1000) } : {},
  );

/** A tensor header entry with one or more fields made wrong. */
function entry(gen: Gen): Record<string, unknown> {
  const e: Record<string, unknown> = { name: 'obs', dtype: 'float32', shape: [1, 2], offset: 0 };
  for (let n = 1 + gen.int(2); n > 0; n--) {
    const key = gen.pick(['name', 'dtype', 'shape', 'offset', 'extra']);
    e[key] = gen.pick([
      gen.json(2),
      gen.pick(['float64', 'int8', 'bfloat16', 'FLOAT32', '']),
      [gen.u32(), gen.u32()],
      [1e308, 1e308, 0],
      [2 ** 53, 2 ** 53, 0],
      [0, 2 ** 60],
      [-1, 2],
      [1.5, 2],
      Array.from({ length: gen.pick([3, 64, 300]) }, () => gen.pick([1, 2, 0])),
      gen.u32(),
      gen.number(),
      gen.pick([1, 2, 3, 5, 7]), // an unaligned offset
    ]);
  }
  return e;
}

/** A payload built by hand: the header made of the entries above, the data of any length and content. */
function crafted(gen: Gen): Uint8Array {
  // Sometimes many entries name the same bytes over and over (at an odd offset, a copy each).
  const many = gen.bool(0.1);
  const tensors = many
    ? Array.from({ length: 200 }, (_, i) => ({
        name: `t${i}`,
        dtype: 'float32',
        shape: [gen.pick([1, 2, 256])],
        offset: gen.pick([0, 1, 4]),
      }))
    : Array.from({ length: gen.pick([0, 1, 1, 2, 3]) }, () =>
        gen.bool(0.3) ? { name: 'obs', dtype: 'float32', shape: [1, 2], offset: gen.pick([0, 1, 4]) } : entry(gen),
      );
  const header: Record<string, unknown> = gen.bool(0.8) ? { tensors } : { tensors: gen.json(2) };
  if (gen.bool(0.3)) header[gen.string()] = gen.json(3);
  const data = new Float32Array(gen.pick([0, 1, 2, 3, 1024]));
  for (let i = 0; i < data.length; i++) data[i] = gen.pick([0, 1, -1, NaN, Infinity, -Infinity, 3.4e38, gen.float()]);
  const bytes = new Uint8Array(data.byteLength + gen.int(3));
  bytes.set(new Uint8Array(data.buffer));
  return frame(JSON.stringify(header), bytes, gen.bool(0.9) ? undefined : gen.u32());
}

/** The header length field claims a header, and JSON text that no JSON.stringify makes fills it. */
function oddHeader(gen: Gen): Uint8Array {
  return frame(gen.bool() ? gen.jsonText() : `{"tensors":${gen.jsonText()}}`, new Uint8Array(8));
}

/** A payload of this header text and data; its header length field says `headerLength` (default: the truth). */
function frame(header: string, data: Uint8Array, headerLength?: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(4 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setUint32(0, headerLength ?? h.byteLength, true);
  out.set(h, 4);
  out.set(data, 4 + h.byteLength);
  return out;
}

/**
 * What decodeTensors gave must be consistent: each tensor's data is its shape's product of elements, and all
 * of them together are no more bytes than the payload (a declared size never makes a buffer by itself).
 */
function checkDecoded(payload: Uint8Array): void {
  let decoded;
  try {
    decoded = decodeTensors(payload);
  } catch (error) {
    expect(error, 'decodeTensors throws only TensorCodecError').toBeInstanceOf(TensorCodecError);
    expect(errorText(error).length).toBeLessThan(600);
    return;
  }
  let bytes = 0;
  for (const t of decoded.tensors) {
    expect(
      t.shape.every((d) => Number.isSafeInteger(d) && d >= 0),
      `tensor ${t.name} shape ${JSON.stringify(t.shape)}`,
    ).toBe(true);
    expect(t.data.length, `tensor ${t.name} of shape ${JSON.stringify(t.shape)}`).toBe(
      t.shape.reduce((a, b) => a * b, 1),
    );
    bytes += t.data.byteLength;
  }
  expect(bytes, 'tensor bytes in all').toBeLessThanOrEqual(payload.byteLength);
}

describe('fuzz: ai/inference/vla/<policy> requests', () => {
  it('answers every damaged tensor payload with an error reply or a right answer, and decodes no more than it was sent', async () => {
    const queriesBefore = service.stats.queries;
    const ran = await fuzz('vla tensor payload', { seed: 0x7e45, cases: 600 }, async (gen, note) => {
      const payload = gen.pick([
        () => gen.mutate(valid(gen)),
        () => crafted(gen),
        () => gen.mutate(crafted(gen)),
        () => oddHeader(gen),
      ])();
      note(payload);
      checkDecoded(payload);
      const reply = await bus.query(service.name, { encoding: TENSOR_ENCODING, payload });
      expect(reply.encoding).toBe(TENSOR_ENCODING);
      const { fields, tensors } = decodeTensors(reply.payload);
      const error = fields.error as { code: string; message: string } | undefined;
      if (error) {
        expect(REPLY_ERRORS, `error code ${error.code}: ${error.message}`).toContain(error.code);
        expect(error.message.length).toBeLessThan(600);
        expect(tensors).toEqual([]);
        return;
      }
      // Answered: the request held one finite obs of two values, and the reply is the model's answer to it.
      const obs = decodeTensors(payload).tensors;
      expect(obs.map((t) => t.name)).toEqual(['obs']);
      expect(Array.from(tensors[0]!.data)).toEqual(await direct(obs[0]!.data));
    });
    expect(service.stats.queries - queriesBefore).toBe(ran);
    // Still serving, and the error replies were counted, not thrown.
    const ok = decodeTensors(
      (
        await bus.query(service.name, {
          encoding: TENSOR_ENCODING,
          payload: encodeTensors([{ name: 'obs', shape: [1, 2], data: Float32Array.of(1, 1) }]),
        })
      ).payload,
    );
    expect(Array.from(ok.tensors[0]!.data)).toEqual([3, 2]);
    if (!replaying) expect(service.stats.errors).toBeGreaterThan(ran / 2);
  });

  it('answers every JSON request, however odd, with a JSON error reply or a right answer', async () => {
    await fuzz('vla json request', { seed: 0x15a, cases: 400 }, async (gen, note) => {
      const text = gen.pick([
        () => gen.jsonText(),
        () => JSON.stringify(gen.json()),
        () => JSON.stringify({ obs: gen.json(3) }),
        () => JSON.stringify({ obs: [[gen.number(), gen.number()]] }),
        () => `{"obs":${gen.jsonText()}}`,
        () => JSON.stringify({ obs: [1, 2], [gen.string()]: gen.json(2) }),
        () => new TextDecoder().decode(gen.mutate(new TextEncoder().encode('{"obs":[[0.5,1.5]]}'))),
      ])();
      note(text);
      const reply = await bus.query(service.name, {
        encoding: 'application/json',
        payload: new TextEncoder().encode(text),
      });
      expect(reply.encoding).toBe('application/json');
      const body = JSON.parse(new TextDecoder().decode(reply.payload)) as {
        error?: { code: string; message: string };
        outputs?: { actions: { data: number[][] } };
      };
      if (body.error) {
        expect(REPLY_ERRORS, `error code ${body.error.code}: ${body.error.message}`).toContain(body.error.code);
        expect(body.error.message.length).toBeLessThan(600);
        return;
      }
      const obs = (JSON.parse(text) as { obs: unknown }).obs;
      expect(body.outputs!.actions.data.flat()).toEqual(
        await direct(Float32Array.from((Array.isArray(obs) ? obs.flat(4) : [obs]) as number[])),
      );
    });
  });
});

const codeOf = (payload: Uint8Array): string | undefined => {
  try {
    decodeTensors(payload);
    return undefined;
  } catch (error) {
    return `${(error as TensorCodecError).code}: ${errorText(error)}`;
  }
};

describe('fuzz: ai/inference/vla/<policy> image observations', () => {
  const IMAGE = 'observation.images.front';
  /** What a frame may be refused for, beyond the tensor payload's own codes. */
  // over_budget: a frame whose decode ran past image.decode_timeout_ms (a loaded machine), refused as such.
  const IMAGE_ERRORS = new Set([
    ...REPLY_ERRORS,
    'bad_encoding',
    'bad_size',
    'too_large',
    'decode_failed',
    'over_budget',
  ]);
  let imageRunner: PolicyRunner;
  let imageService: VlaService;
  /** Encoded frames that decode, each as an image entry's `image` and bytes. */
  const good: { image: TensorImage; data: Uint8Array }[] = [];

  beforeAll(async () => {
    const model = writeChannelMeanModel(tmp.path, 'eye', { height: 3, width: 4 });
    imageRunner = await PolicyRunner.open(
      'eye',
      policySettings({ model, inputs: { [IMAGE]: { image: { topic: '/camera', max_pixels: 4096 } } } }),
    );
    imageService = new VlaService(bus, imageRunner);
    const px = Uint8Array.from({ length: 8 * 6 * 3 }, (_, i) => (i * 37) % 256);
    const raw = (encoding: string, width: number, height: number, channels: number, step = width * channels) => ({
      image: { encoding, width, height, step },
      data: Uint8Array.from({ length: step * height }, (_, i) => (i * 53) % 256),
    });
    good.push(raw('rgb8', 8, 6, 3), raw('bgr8', 4, 3, 3, 13), raw('rgba8', 5, 5, 4), raw('mono8', 2, 9, 1));
    const image = sharp(px, { raw: { width: 8, height: 6, channels: 3 } });
    good.push({ image: { format: 'png' }, data: await image.clone().png().toBuffer() });
    good.push({ image: { format: 'jpeg' }, data: await image.clone().jpeg().toBuffer() });
  });
  afterAll(async () => {
    await imageService.close();
    await imageRunner.close();
  });

  /** An image entry whose `image` has one or more fields made wrong, over data of any length and content. */
  function craftedImage(gen: Gen): Uint8Array {
    const base = gen.pick(good);
    const image: Record<string, unknown> = { ...base.image };
    for (let n = gen.int(3); n > 0; n--) {
      const key = gen.pick(['encoding', 'format', 'width', 'height', 'step', 'is_bigendian', 'extra']);
      image[key] = gen.pick([
        gen.json(2),
        gen.pick(['rgb8', 'bgr8', 'mono8', '16UC1', 'rgba8', 'yuv422', 'jpeg', 'png', 'tiff', '']),
        gen.u32(),
        gen.pick([0, 1, -1, 1.5, 8660, 2 ** 53]),
      ]);
    }
    let data = base.data;
    if (gen.bool(0.3)) data = gen.bytes(gen.pick([0, 3, 48, 300]));
    const entry = {
      name: gen.bool(0.9) ? IMAGE : 'obs',
      dtype: gen.bool(0.9) ? 'uint8' : 'float32',
      shape: gen.bool(0.8) ? [data.length] : [gen.pick([data.length + 1, gen.u32(), 1]), 1],
      offset: gen.pick([0, 0, 1]),
      image: gen.bool(0.9) ? image : gen.json(2),
    };
    return frame(JSON.stringify({ tensors: [entry] }), data);
  }

  it('answers every damaged frame with an error reply or the means of a frame in [0, 1], and keeps serving', async () => {
    const outcomes = { answered: 0, refused: 0 };
    await fuzz('vla image payload', { seed: 0x1a6e, cases: 400 }, async (gen, note) => {
      const payload = gen.pick([
        () => {
          const { image, data } = gen.pick(good);
          return encodeTensors([{ name: IMAGE, shape: [data.length], data, image }]);
        },
        () => {
          const { image, data } = gen.pick(good);
          return gen.mutate(encodeTensors([{ name: IMAGE, shape: [data.length], data, image }]));
        },
        () => craftedImage(gen),
        () => gen.mutate(craftedImage(gen)),
      ])();
      note(payload);
      checkDecoded(payload);
      const reply = await bus.query(imageService.name, { encoding: TENSOR_ENCODING, payload });
      const { fields, tensors } = decodeTensors(reply.payload);
      const error = fields.error as { code: string; message: string } | undefined;
      if (error) {
        expect(IMAGE_ERRORS, `error code ${error.code}: ${error.message}`).toContain(error.code);
        expect(error.message.length).toBeLessThan(600);
        expect(tensors).toEqual([]);
        outcomes.refused++;
        return;
      }
      outcomes.answered++;
      // Answered: a frame reached the model, whose answer is two channels' means, each in [0, 1]; or the payload
      // (mutated) still held a float32 tensor of the input's shape, whose answer is the model's.
      const given = decodeTensors(payload).tensors;
      const action = Array.from(tensors[0]!.data);
      if (given[0]!.image)
        expect(
          action.every((v) => v >= 0 && v <= 1),
          `${action}`,
        ).toBe(true);
      else expect(action).toEqual(Array.from((await imageRunner.run({ [IMAGE]: given[0]!.data })).action!.data));
    });
    if (!replaying) expect(Math.min(outcomes.answered, outcomes.refused), JSON.stringify(outcomes)).toBeGreaterThan(40);
    const ok = decodeTensors(
      (
        await bus.query(imageService.name, {
          encoding: TENSOR_ENCODING,
          payload: encodeTensors([{ name: IMAGE, shape: [good[0]!.data.length], ...good[0]! }]),
        })
      ).payload,
    );
    expect(ok.fields.error).toBeUndefined();
  });
});

describe('tensor payloads the fuzzer found decoding wrong', () => {
  it.each([[[1e308, 1e308, 0]], [[0, 2 ** 60]], [[2 ** 53, 0]]])(
    'refuses shape %j, whose dimensions are past 2^53 (its element count is not exact, or NaN)',
    (shape) => {
      expect(
        codeOf(
          frame(JSON.stringify({ tensors: [{ name: 'obs', dtype: 'float32', shape, offset: 0 }] }), new Uint8Array(8)),
        ),
      ).toMatch(/^bad_shape: tensor "obs" shape must be a list of non-negative integers \(up to 2\^53 - 1\)/);
      // The largest exact ones are still a shape (of no elements).
      expect(
        codeOf(
          frame(
            JSON.stringify({ tensors: [{ name: 'obs', dtype: 'float32', shape: [2 ** 53 - 1, 0], offset: 0 }] }),
            new Uint8Array(8),
          ),
        ),
      ).toBeUndefined();
    },
  );

  it('refuses tensors that claim the same bytes again, rather than copying them out once per claim', () => {
    const tensors = Array.from({ length: 100 }, (_, i) => ({
      name: `t${i}`,
      dtype: 'float32',
      shape: [256],
      offset: 1,
    }));
    expect(codeOf(frame(JSON.stringify({ tensors }), new Uint8Array(1028)))).toBe(
      'bad_payload: tensor "t1" and those before it claim 2048 bytes in all, more than the 1028 data bytes: tensors must not overlap',
    );
    // Side by side, they fit.
    expect(
      codeOf(
        frame(
          JSON.stringify({ tensors: tensors.slice(0, 4).map((t, i) => ({ ...t, shape: [64], offset: i * 256 })) }),
          new Uint8Array(1024),
        ),
      ),
    ).toBeUndefined();
  });
});
