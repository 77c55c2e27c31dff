// ai/inference/vla/<policy> with camera frames: the encoded frames a query may carry (raw sensor_msgs/msg/Image
// bytes, JPEG, PNG) and frames already in the model's layout. The model (vision-models.ts) answers each channel's
// mean, so a reply says what reached the model: channel order, scale, resize, normalization.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { PolicyThread, type PolicyExecutor } from '../../daemon/system1/policy-thread.ts';
import { VlaService } from '../../daemon/system1/vla-service.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { decodeTensors, encodeTensors, TENSOR_ENCODING, type NamedTensor } from '../../daemon/contract/tensor-codec.ts';
import { tempDir } from '../helpers/cli.ts';
import { policySettings } from './models.ts';
import { writeChannelMeanModel } from './vision-models.ts';

const tmp = tempDir('vla-images-');
const bus = new Bus();
const runners: PolicyRunner[] = [];
const services = new Map<string, VlaService>();
const IMAGE = 'observation.images.front';
const [W, H] = [16, 12];
/** A decode budget far past any frame here: the codes are the frames', not a loaded machine's. */
const BUDGET = { decode_timeout_ms: 10_000 };

/** A policy of the channel-mean model named `name`, served on the bus; `input` is its image input's manifest. */
async function serve(
  name: string,
  model: Parameters<typeof writeChannelMeanModel>[2],
  input: Record<string, unknown> | null = { image: { topic: '/camera', ...BUDGET } },
): Promise<PolicyRunner> {
  const settings = policySettings({
    model: writeChannelMeanModel(tmp.path, name, model),
    ...(input ? { inputs: { [IMAGE]: input } } : {}),
  });
  const runner = await PolicyRunner.open(name, settings);
  runners.push(runner);
  services.set(name, new VlaService(bus, runner));
  return runner;
}

beforeAll(async () => {
  await serve('mean', { height: H, width: W });
  await serve('state', { height: H, width: W, state: 2, chunk: 3 });
  await serve('small', { height: H, width: W }, { image: { topic: '/camera', max_pixels: 100_000, ...BUDGET } });
  await serve('exact', { height: H, width: W }, { image: { topic: '/camera', resize: 'none', ...BUDGET } });
  await serve(
    'imagenet',
    { height: H, width: W },
    { image: { topic: '/camera', ...BUDGET }, normalize: { mode: 'imagenet' } },
  );
  await serve('bytes', { height: H, width: W, dtype: 'uint8' });
  await serve('nhwc', { height: H, width: W, layout: 'nhwc' });
  // The same model with no image: in its manifest: its input is a float32 tensor, not a camera.
  await serve('plain', { height: H, width: W }, null);
});
afterAll(async () => {
  await Promise.all([...services.values()].map((s) => s.close()));
  bus.close();
  for (const r of runners) await r.close();
  tmp.cleanup();
});

/** Pixels of a frame, channels last: each pixel `px(x, y)`. */
function pixels(width: number, height: number, px: (x: number, y: number) => number[], step?: number): Uint8Array {
  const channels = px(0, 0).length;
  const row = step ?? width * channels;
  const out = new Uint8Array(row * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out.set(px(x, y), y * row + x * channels);
  return out;
}
const solid = (width: number, height: number, px: number[]) => pixels(width, height, () => px);
/** A frame whose channels vary across it, so that a swapped channel or a transposed layout shows. */
const gradient = (x: number, y: number) => [x * 15, 100 + y * 10, 255 - x * 7 - y * 3];
const gradientMeans = (() => {
  const sums = [0, 0, 0];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) gradient(x, y).forEach((v, c) => (sums[c]! += v));
  return sums.map((s) => s / (W * H * 255));
})();

const raw = (encoding: string, width: number, height: number, data: Uint8Array, step?: number): NamedTensor => ({
  name: IMAGE,
  shape: [data.length],
  data,
  image: { encoding, width, height, step: step ?? data.length / height },
});
const compressed = (format: string, data: Uint8Array): NamedTensor => ({
  name: IMAGE,
  shape: [data.length],
  data,
  image: { format },
});

type Reply = { fields: Record<string, unknown>; tensors: NamedTensor[] };
async function ask(policy: string, tensors: NamedTensor[], fields: Record<string, unknown> = {}): Promise<Reply> {
  return askBytes(policy, encodeTensors(tensors, fields));
}
async function askBytes(policy: string, payload: Uint8Array): Promise<Reply> {
  const reply = await bus.query(`ai/inference/vla/${policy}`, { encoding: TENSOR_ENCODING, payload });
  expect(reply.encoding).toBe(TENSOR_ENCODING);
  return decodeTensors(reply.payload);
}
const action = (reply: Reply): number[] => {
  expect(reply.fields.error).toBeUndefined();
  return Array.from(reply.tensors[0]!.data);
};
const near = (got: number[], want: number[], digits = 5) =>
  expect(got.map((v) => Math.round(v * 10 ** digits))).toEqual(want.map((v) => Math.round(v * 10 ** digits)));
const errorOf = (reply: Reply) => reply.fields.error as { code: string; message: string } | undefined;

const png = (width: number, height: number, data: Uint8Array, channels: 1 | 3 | 4 = 3) =>
  sharp(data, { raw: { width, height, channels } }).png().toBuffer();
const jpeg = (width: number, height: number, data: Uint8Array, quality = 90) =>
  sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();

describe('ai/inference/vla/<policy> with encoded frames', () => {
  it('takes raw rgb8, bgr8, rgba8 and mono8 frames, padded rows too, as RGB in [0, 1] channels first', async () => {
    const rgb = pixels(W, H, gradient);
    near(action(await ask('mean', [raw('rgb8', W, H, rgb)])), [gradientMeans[0]!, gradientMeans[2]!]);
    const bgr = pixels(W, H, (x, y) => gradient(x, y).reverse());
    near(action(await ask('mean', [raw('bgr8', W, H, bgr)])), [gradientMeans[0]!, gradientMeans[2]!]);
    const rgba = pixels(W, H, (x, y) => [...gradient(x, y), 9]);
    near(action(await ask('mean', [raw('rgba8', W, H, rgba)])), [gradientMeans[0]!, gradientMeans[2]!]);
    // A row of 16 pixels padded to 52 bytes, as some drivers send.
    const padded = pixels(W, H, gradient, 52);
    near(action(await ask('mean', [raw('rgb8', W, H, padded, 52)])), [gradientMeans[0]!, gradientMeans[2]!]);
    near(action(await ask('mean', [raw('mono8', W, H, solid(W, H, [51]))])), [0.2, 0.2]);
    // Channels last in the model: the same answer.
    near(action(await ask('nhwc', [raw('rgb8', W, H, rgb)])), [gradientMeans[0]!, gradientMeans[2]!]);
  });

  it('resizes a frame of another size to the input, as a camera topic is', async () => {
    const frame = solid(64, 48, [255, 0, 51]);
    near(action(await ask('mean', [raw('rgb8', 64, 48, frame)])), [1, 0.2]);
    const bgr = solid(20, 10, [51, 0, 255]);
    near(action(await ask('mean', [raw('bgr8', 20, 10, bgr)])), [1, 0.2]);
  });

  it('decodes PNG exactly and JPEG as libvips does, and resizes them', async () => {
    const rgb = pixels(W, H, gradient);
    const lossless = await png(W, H, rgb);
    near(action(await ask('mean', [compressed('png', lossless)])), [gradientMeans[0]!, gradientMeans[2]!]);
    const lossy = await jpeg(W, H, rgb);
    // The model's answer to the JPEG's own pixels, decoded apart.
    const decoded = await sharp(lossy).raw().toBuffer();
    const sums = [0, 0, 0];
    for (let i = 0; i < decoded.length; i++) sums[i % 3]! += decoded[i]!;
    near(action(await ask('mean', [compressed('jpeg', lossy)])), [sums[0]! / (W * H * 255), sums[2]! / (W * H * 255)]);
    // image_transport's format string, and a larger frame resized.
    const big = await jpeg(320, 240, solid(320, 240, [200, 40, 10]), 95);
    near(action(await ask('mean', [compressed('bgr8; jpeg compressed bgr8', big)])), [200 / 255, 10 / 255], 2);
  });

  it('takes a frame already in the model layout: float32 [1, 3, H, W] in [0, 1], or uint8 for a uint8 input', async () => {
    const chw = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < H * W; i++) chw[c * H * W + i] = c === 0 ? 0.25 : c === 1 ? 0 : 0.75;
    near(action(await ask('mean', [{ name: IMAGE, shape: [1, 3, H, W], data: chw }])), [0.25, 0.75]);
    const bytes = Uint8Array.from(chw, (v) => v * 200);
    // The uint8 model casts its input and takes the mean: the bytes' own scale.
    near(action(await ask('bytes', [{ name: IMAGE, shape: [1, 3, H, W], data: bytes }])), [50, 150]);
    // An encoded frame for a uint8 input is fed as its bytes.
    near(action(await ask('bytes', [raw('rgb8', W, H, solid(W, H, [50, 0, 150]))])), [50, 150]);
  });

  it('normalizes a decoded frame as a frame given in [0, 1]: both get the manifest normalization', async () => {
    const chw = new Float32Array(3 * H * W).fill(0.5);
    const given = action(await ask('imagenet', [{ name: IMAGE, shape: [1, 3, H, W], data: chw }]));
    // ImageNet's mean and std for R and B.
    near(given, [(0.5 - 0.485) / 0.229, (0.5 - 0.406) / 0.225], 4);
    // 128 / 255 is not 0.5: the same frame as bytes is 0.50196.
    const decoded = action(await ask('imagenet', [raw('rgb8', W, H, solid(W, H, [128, 128, 128]))]));
    near(decoded, [(128 / 255 - 0.485) / 0.229, (128 / 255 - 0.406) / 0.225], 4);
  });

  it('takes a frame beside other inputs, answers the whole chunk and carries the timestep', async () => {
    const reply = await ask(
      'state',
      [
        raw('rgb8', W, H, solid(W, H, [255, 0, 0])),
        { name: 'observation.state', shape: [1, 2], data: Float32Array.of(2, 9) },
      ],
      { timestep: 7 },
    );
    expect(reply.fields).toMatchObject({ policy: 'state', chunk: 3, timestep: 7 });
    expect(reply.tensors[0]!.shape).toEqual([1, 3, 2]);
    near(action(reply), [3, 2, 6, 4, 9, 6]);
  });
});

/** A payload built by hand: this header, and `dataBytes` bytes of data after it. */
function crafted(header: unknown, dataBytes: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + h.length + dataBytes);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  return out;
}
const entry = (image: unknown, bytes: number, extra: Record<string, unknown> = {}) => ({
  tensors: [{ name: IMAGE, dtype: 'uint8', shape: [bytes], offset: 0, image, ...extra }],
});

describe('ai/inference/vla/<policy> refuses a bad frame with its code, and keeps serving', () => {
  const rgb = solid(W, H, [10, 20, 30]);
  const bad: [string, string, () => Promise<Uint8Array> | Uint8Array, string, string][] = [
    ['a wrong encoding', 'mean', () => encodeTensors([raw('yuv422', W, H, rgb)]), 'bad_encoding', '"yuv422"'],
    ['a format that is no image', 'mean', () => encodeTensors([compressed('tiff', rgb)]), 'bad_encoding', 'tiff'],
    [
      'data that does not match height x step',
      'mean',
      () => encodeTensors([raw('rgb8', W, H, rgb.subarray(3), W * 3)]),
      'bad_size',
      'height x step',
    ],
    ['a step shorter than a row', 'mean', () => encodeTensors([raw('rgb8', W, H, rgb, W)]), 'bad_size', 'step 16'],
    [
      'a truncated JPEG',
      'mean',
      async () => {
        const full = await jpeg(64, 48, solid(64, 48, [9, 9, 9]));
        return encodeTensors([compressed('jpeg', full.subarray(0, full.length >> 1))]);
      },
      'decode_failed',
      'jpeg',
    ],
    [
      'a 50-megapixel raw header with 8 bytes',
      'mean',
      () => crafted(entry({ encoding: 'rgb8', width: 8660, height: 5774, step: 8660 * 3 }, 8), 8),
      'too_large',
      '8660 x 5774',
    ],
    [
      'a PNG over the input’s max_pixels',
      'small',
      async () => encodeTensors([compressed('png', await png(500, 400, solid(500, 400, [1, 2, 3])))]),
      'too_large',
      '500 x 400',
    ],
    [
      'a frame of another size where the input takes resize: none',
      'exact',
      () => encodeTensors([raw('rgb8', 8, 6, solid(8, 6, [1, 2, 3]))]),
      'bad_size',
      'resize: none',
    ],
    [
      'a header claiming more bytes than were sent',
      'mean',
      () => crafted(entry({ encoding: 'rgb8', width: W, height: H, step: W * 3 }, W * H * 3), 100),
      'bad_payload',
      'runs past the 100 data bytes',
    ],
    [
      'an image for an input that is no image',
      'plain',
      () => encodeTensors([raw('rgb8', W, H, rgb)]),
      'bad_image',
      'is not an image input; it takes float32 [1,3,12,16]',
    ],
    [
      'an image object with both encoding and format',
      'mean',
      () => crafted(entry({ encoding: 'rgb8', format: 'jpeg', width: 1, height: 1, step: 3 }, 3), 8),
      'bad_image',
      'one of "encoding"',
    ],
    [
      'an image object with a negative width',
      'mean',
      () => crafted(entry({ encoding: 'rgb8', width: -1, height: 1, step: 3 }, 3), 8),
      'bad_image',
      '.width must be a whole number',
    ],
    [
      'an image of float32',
      'mean',
      () => crafted(entry({ format: 'png' }, 2, { dtype: 'float32' }), 8),
      'bad_image',
      'dtype float32',
    ],
    [
      '16-bit depth for a 3-channel input',
      'mean',
      () => encodeTensors([raw('16UC1', 2, 2, new Uint8Array(8))]),
      'bad_encoding',
      'depth',
    ],
    [
      'uint8 bytes with no image object for a float32 input',
      'mean',
      () => encodeTensors([{ name: IMAGE, shape: [1, 3, H, W], data: new Uint8Array(3 * H * W) }]),
      'bad_dtype',
      'must be float32',
    ],
    [
      'a float32 frame transposed',
      'mean',
      () => encodeTensors([{ name: IMAGE, shape: [1, H, W, 3], data: new Float32Array(3 * H * W) }]),
      'bad_shape',
      '[1,12,16,3]',
    ],
  ];
  it.each(bad)('answers %s with its code', async (_what, policy, payload, code, text) => {
    const service = services.get(policy)!;
    const before = service.stats.errorsByCode[code] ?? 0;
    const reply = await askBytes(policy, await payload());
    expect(errorOf(reply)?.code, errorOf(reply)?.message).toBe(code);
    expect(errorOf(reply)?.message).toContain(text);
    expect(errorOf(reply)!.message.length).toBeLessThan(600);
    expect(reply.tensors).toEqual([]);
    expect(service.stats.errorsByCode[code]).toBe(before + 1);
    // Still serving.
    const ok = await ask(policy, [
      policy === 'plain'
        ? { name: IMAGE, shape: [1, 3, H, W], data: new Float32Array(3 * H * W) }
        : raw('rgb8', W, H, solid(W, H, [255, 0, 255])),
    ]);
    expect(errorOf(ok)).toBeUndefined();
  });
});

describe('ai/inference/vla/<policy> with JSON frames', () => {
  type JsonReply = { error?: { code: string; message: string }; outputs?: Record<string, { data: number[][] }> };
  const askJson = async (policy: string, input: unknown): Promise<JsonReply> => {
    const reply = await bus.query(`ai/inference/vla/${policy}`, {
      encoding: 'application/json',
      payload: new TextEncoder().encode(JSON.stringify(input)),
    });
    return JSON.parse(new TextDecoder().decode(reply.payload)) as JsonReply;
  };
  const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

  it('takes sensor_msgs/msg/Image and CompressedImage as rosbridge writes them, data in base64', async () => {
    const rgb = pixels(W, H, gradient);
    const image = {
      header: { frame_id: 'camera' },
      height: H,
      width: W,
      encoding: 'rgb8',
      is_bigendian: 0,
      step: W * 3,
      data: base64(rgb),
    };
    const fromRaw = await askJson('mean', { [IMAGE]: image });
    near(fromRaw.outputs!.action!.data.flat(), [gradientMeans[0]!, gradientMeans[2]!]);
    const fromPng = await askJson('mean', { [IMAGE]: { format: 'png', data: base64(await png(W, H, rgb)) } });
    expect(fromPng.outputs).toEqual(fromRaw.outputs);
    // Nested lists for a uint8 input are its bytes.
    const lists = [[0, 1, 2].map((c) => Array.from({ length: H }, () => new Array<number>(W).fill(c * 100)))];
    near((await askJson('bytes', { [IMAGE]: lists })).outputs!.action!.data.flat(), [0, 200]);
  });

  it.each([
    ['data that is not base64', { encoding: 'rgb8', width: 1, height: 1, step: 3, data: '***' }, 'mean', 'bad_image'],
    ['an unknown key', { encoding: 'rgb8', width: 1, height: 1, step: 3, fmt: 'x', data: '' }, 'mean', 'bad_image'],
    ['an image for an input that is no image', { format: 'png', data: '' }, 'plain', 'bad_image'],
    ['an empty PNG', { format: 'png', data: '' }, 'mean', 'decode_failed'],
    [
      'bytes past 255 for a uint8 input',
      [[0, 1, 2].map(() => Array.from({ length: H }, () => new Array<number>(W).fill(256)))],
      'bytes',
      'bad_dtype',
    ],
  ])('answers %s with its code', async (_what, value, policy, code) => {
    const reply = await askJson(policy, { [IMAGE]: value });
    expect(reply.error?.code, reply.error?.message).toBe(code);
  });
});

describe('ai/inference/vla/<policy> frames in the serving thread', () => {
  let thread: PolicyThread;
  let service: VlaService;
  beforeAll(async () => {
    const settings = policySettings({
      model: writeChannelMeanModel(tmp.path, 'threaded', { height: H, width: W }),
      inputs: { [IMAGE]: { image: { topic: '/camera', ...BUDGET } } },
    });
    thread = await PolicyThread.open('threaded', settings);
    service = new VlaService(bus, thread);
  });
  afterAll(async () => {
    await service.close();
    await thread.close();
  });

  it('answers encoded frames as the runner on this thread does: the frame reaches the thread decoded, input-sized', async () => {
    const frames: NamedTensor[] = [
      raw('rgb8', W, H, pixels(W, H, gradient)),
      raw('bgr8', 40, 30, solid(40, 30, [51, 0, 255])),
      compressed('jpeg', await jpeg(W, H, pixels(W, H, gradient))),
    ];
    for (const frame of frames)
      expect(action(await ask('threaded', [frame])), JSON.stringify(frame.image)).toEqual(
        action(await ask('mean', [frame])),
      );
    expect(errorOf(await ask('threaded', [raw('yuv422', W, H, new Uint8Array(W * H * 2))]))?.code).toBe('bad_encoding');
  });
});

describe('ai/inference/vla/<policy> admission with frames', () => {
  it('refuses frames past max_pending_queries with busy before decoding them, and decodes the others in turn', async () => {
    const runner = runners[0]!;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const seen: string[] = [];
    const gated: PolicyExecutor = {
      spec: { ...runner.spec, name: 'gated' },
      run: async (inputs) => {
        // What the service hands over for an encoded frame: the decoded frame, input-sized.
        const frame = inputs[IMAGE] as { width: number; height: number; order: string };
        seen.push(`${frame.width}x${frame.height} ${frame.order}`);
        await gate;
        return runner.run(inputs);
      },
    };
    const service = new VlaService(bus, gated, { maxPending: 2 });
    try {
      const big = await jpeg(320, 240, solid(320, 240, [0, 0, 0]));
      const replies = Array.from({ length: 4 }, () => ask('gated', [compressed('jpeg', big)]));
      const refused = await Promise.all(replies.slice(2));
      expect(refused.map((r) => errorOf(r)?.code)).toEqual(['busy', 'busy']);
      open();
      const answered = await Promise.all(replies.slice(0, 2));
      expect(answered.map((r) => errorOf(r))).toEqual([undefined, undefined]);
      expect(seen).toEqual([`${W}x${H} rgb`, `${W}x${H} rgb`]);
    } finally {
      await service.close();
    }
  });
});
