import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeFrame, ImageError, type FrameTarget } from './image-decode.ts';
import { frameToInput } from './frame-tensor.ts';
import type { ImageInputSpec } from './image-input.ts';

const target = (width: number, height: number, channels: 1 | 3 = 3): FrameTarget => ({
  width,
  height,
  channels,
  resize: 'fill',
  maxPixels: 1_000_000,
});

const solid = (w: number, h: number, px: number[]): Uint8Array => {
  const out = new Uint8Array(w * h * px.length);
  for (let i = 0; i < out.length; i++) out[i] = px[i % px.length]!;
  return out;
};

const image = (w: number, h: number, encoding: string, px: number[], step = w * px.length) => {
  const data = new Uint8Array(step * h);
  const row = solid(w, 1, px);
  for (let y = 0; y < h; y++) data.set(row, y * step);
  return { width: w, height: h, encoding, is_bigendian: 0, step, data };
};

const spec = (layout: 'nchw' | 'nhwc', height: number, width: number, channels: 1 | 3 = 3): ImageInputSpec => ({
  layout,
  height,
  width,
  channels,
  dtype: 'float32',
  settings: {
    topic: '/c',
    resize: 'fill',
    depth_scale: 0.001,
    max_pixels: 1_000_000,
    decode_timeout_ms: 250,
    age_from: 'stamp',
  },
});

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'decoded';
  } catch (error) {
    return error instanceof ImageError ? error.code : `not an ImageError: ${String(error)}`;
  }
};

describe('camera frames to model inputs', () => {
  it('takes each raw encoding to RGB in [0, 1], channels first or last, resized to the input', async () => {
    for (const [encoding, px] of [
      ['rgb8', [255, 0, 51]],
      ['bgr8', [51, 0, 255]],
      ['rgba8', [255, 0, 51, 7]],
      ['bgra8', [51, 0, 255, 7]],
    ] as const) {
      // A padded row (step past the pixels) as some drivers send.
      const frame = await decodeFrame(image(8, 6, encoding, [...px], 8 * px.length + 4), target(4, 3));
      expect([frame.width, frame.height, frame.channels]).toEqual([4, 3, 3]);
      for (const layout of ['nchw', 'nhwc'] as const) {
        const out = new Float32Array(4 * 3 * 3);
        frameToInput(frame.data, frame.order, spec(layout, 3, 4), out);
        const at = (c: number) => (layout === 'nchw' ? out[c * 12 + 5] : out[5 * 3 + c]);
        expect(
          [at(0), at(1), at(2)].map((v) => Math.round(v! * 255)),
          `${encoding} ${layout}`,
        ).toEqual([255, 0, 51]);
      }
    }
  });

  it('feeds mono8 to a 3-channel input as grey, 16UC1 depth in metres to a 1-channel one, big-endian too', async () => {
    const grey = await decodeFrame(image(4, 2, 'mono8', [100]), target(2, 1));
    const out = new Float32Array(6);
    frameToInput(grey.data, grey.order, spec('nchw', 1, 2), out);
    expect(Array.from(out, (v) => Math.round(v * 255))).toEqual([100, 100, 100, 100, 100, 100]);

    const le = new Uint8Array(new Uint16Array([1500, 1500, 1500, 1500]).buffer);
    const depth = await decodeFrame(
      { width: 2, height: 2, encoding: '16UC1', is_bigendian: 0, step: 4, data: le },
      target(2, 2, 1),
    );
    const d = new Float32Array(4);
    frameToInput(depth.data, depth.order, spec('nchw', 2, 2, 1), d);
    expect(Array.from(d)).toEqual([1.5, 1.5, 1.5, 1.5].map(Math.fround));

    const be = Uint8Array.from([0x05, 0xdc, 0x05, 0xdc]); // 1500 big-endian
    const bigEndian = await decodeFrame(
      { width: 2, height: 1, encoding: '16UC1', is_bigendian: 1, step: 4, data: be },
      target(2, 1, 1),
    );
    expect(Array.from(bigEndian.data)).toEqual([1500, 1500]);
    expect(
      await code(decodeFrame({ width: 2, height: 2, encoding: '16UC1', step: 4, data: le }, target(2, 2, 3))),
    ).toBe('bad_encoding');
  });

  it('decodes JPEG and PNG off the event loop, to the input size', async () => {
    const raw = solid(32, 24, [200, 40, 10]);
    for (const format of ['jpeg', 'png'] as const) {
      const pipeline = sharp(raw, { raw: { width: 32, height: 24, channels: 3 } });
      const data = await (format === 'jpeg' ? pipeline.jpeg() : pipeline.png()).toBuffer();
      const frame = await decodeFrame({ format: `rgb8; ${format} compressed bgr8`, data }, target(16, 12));
      expect([frame.width, frame.height, frame.order]).toEqual([16, 12, 'rgb']);
      const [r, g, b] = frame.data;
      expect(Math.abs(r! - 200) + Math.abs(g! - 40) + Math.abs(b! - 10), format).toBeLessThan(12);
    }
  });

  it('refuses, with a code and what was sent: a wrong encoding, a size that does not match its step, a truncated JPEG, 50 megapixels, another size with resize none', async () => {
    expect(await code(decodeFrame(image(4, 2, 'yuv422', [1, 2]), target(4, 2)))).toBe('bad_encoding');
    const short = image(4, 2, 'rgb8', [1, 2, 3]);
    expect(await code(decodeFrame({ ...short, data: short.data.subarray(1) }, target(4, 2)))).toBe('bad_size');
    expect(await code(decodeFrame({ ...short, step: 5 }, target(4, 2)))).toBe('bad_size');
    const jpeg = await sharp(solid(64, 48, [9, 9, 9]), { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg()
      .toBuffer();
    expect(await code(decodeFrame({ format: 'jpeg', data: jpeg.subarray(0, jpeg.length >> 1) }, target(8, 6)))).toBe(
      'decode_failed',
    );
    expect(await code(decodeFrame({ format: 'jpeg', data: Uint8Array.from([1, 2, 3]) }, target(8, 6)))).toBe(
      'decode_failed',
    );
    expect(await code(decodeFrame({ format: 'tiff', data: jpeg }, target(8, 6)))).toBe('bad_encoding');
    // 50 megapixels claimed by the header alone: refused before any pixel is read.
    const huge = { width: 8660, height: 5774, encoding: 'rgb8', step: 8660 * 3, data: new Uint8Array(8) };
    expect(await code(decodeFrame(huge, target(8, 6)))).toBe('too_large');
    const big = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    expect(await code(decodeFrame({ format: 'png', data: big }, target(8, 6)))).toBe('too_large');
    expect(await code(decodeFrame(image(6, 4, 'rgb8', [1, 2, 3]), { ...target(4, 2), resize: 'none' }))).toBe(
      'bad_size',
    );
  });
});

describe('a JPEG of fewer scans than its header promises', () => {
  it('is refused at every scan boundary it is cut at, closed with EOI; the whole decodes, baseline and CMYK too', async () => {
    const pixels = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7919) % 251);
    const noise = sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } });
    const progressive = await noise.clone().jpeg({ quality: 90, progressive: true }).toBuffer();
    const scans: number[] = [];
    const SOS = Buffer.from([0xff, 0xda]);
    for (let at = progressive.indexOf(SOS); at >= 0; at = progressive.indexOf(SOS, at + 2)) scans.push(at);
    expect(scans.length).toBeGreaterThan(5); // not vacuous: libjpeg's default progression
    for (const at of scans.slice(1)) {
      const cut = Buffer.concat([progressive.subarray(0, at), Buffer.from([0xff, 0xd9])]);
      expect([at, await code(decodeFrame({ format: 'jpeg', data: cut }, target(40, 30)))]).toEqual([
        at,
        'decode_failed',
      ]);
    }
    for (const whole of [
      progressive,
      await noise.clone().jpeg({ quality: 90 }).toBuffer(),
      await noise.clone().toColourspace('cmyk').jpeg().toBuffer(),
    ])
      expect(await code(decodeFrame({ format: 'jpeg', data: whole }, target(40, 30)))).toBe('decoded');
  });
});

describe('a frame already of the input size', () => {
  it('is taken as it is, rgba8 without its alpha', async () => {
    const frame = await decodeFrame(image(2, 1, 'rgba8', [1, 2, 3, 4]), target(2, 1));
    expect(Array.from(frame.data)).toEqual([1, 2, 3, 1, 2, 3]);
    const rgb = await decodeFrame(image(2, 1, 'rgb8', [1, 2, 3]), target(2, 1));
    expect(Array.from(rgb.data)).toEqual([1, 2, 3, 1, 2, 3]);
  });
});
