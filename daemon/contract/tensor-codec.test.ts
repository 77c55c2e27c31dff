import { describe, expect, it } from 'vitest';
import { decodeTensors, encodeError, encodeTensors, imageFromJson, TensorCodecError } from './tensor-codec.ts';
import { errorText } from '../util/index.ts';

describe('tensor codec', () => {
  it('round-trips tensors and fields, 8-byte aligned', () => {
    const a = Float32Array.of(1, 2, 3);
    const b = Float32Array.of(-1.5);
    const bytes = encodeTensors(
      [
        { name: 'obs', shape: [1, 3], data: a },
        { name: 'h', shape: [1], data: b },
      ],
      { timestep: 7 },
    );
    const headerLength = new DataView(bytes.buffer).getUint32(0, true);
    expect((4 + headerLength) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as {
      tensors: { offset: number }[];
    };
    expect(header.tensors.map((t) => t.offset)).toEqual([0, 16]);
    const back = decodeTensors(bytes);
    expect(back.fields).toEqual({ timestep: 7 });
    expect(back.tensors.map((t) => [t.name, t.shape, Array.from(t.data)])).toEqual([
      ['obs', [1, 3], [1, 2, 3]],
      ['h', [1], [-1.5]],
    ]);
  });

  it('reads a payload at an odd offset in a larger buffer', () => {
    const bytes = encodeTensors([{ name: 'x', shape: [2], data: Float32Array.of(4, 5) }]);
    const big = new Uint8Array(bytes.length + 1);
    big.set(bytes, 1);
    expect(Array.from(decodeTensors(big.subarray(1)).tensors[0]!.data)).toEqual([4, 5]);
  });

  it('round-trips uint8 tensors and encoded frames with their image header, the bytes as sent', () => {
    const bytes = encodeTensors([
      {
        name: 'cam',
        shape: [6],
        data: Uint8Array.of(1, 2, 3, 4, 5, 6),
        image: { encoding: 'rgb8', width: 2, height: 1, step: 6 },
      },
      { name: 'jpg', shape: [3], data: Uint8Array.of(0xff, 0xd8, 0xff), image: { format: 'jpeg' } },
      { name: 'u8', shape: [1, 2], data: Uint8Array.of(7, 8) },
      { name: 'f', shape: [1], data: Float32Array.of(0.5) },
    ]);
    const back = decodeTensors(bytes);
    expect(back.tensors.map((t) => [t.name, t.data.constructor.name, t.shape, Array.from(t.data), t.image])).toEqual([
      ['cam', 'Uint8Array', [6], [1, 2, 3, 4, 5, 6], { encoding: 'rgb8', width: 2, height: 1, step: 6 }],
      ['jpg', 'Uint8Array', [3], [0xff, 0xd8, 0xff], { format: 'jpeg' }],
      ['u8', 'Uint8Array', [1, 2], [7, 8], undefined],
      ['f', 'Float32Array', [1], [0.5], undefined],
    ]);
    // A view of the payload: a frame is not copied to be read.
    expect(back.tensors[0]!.data.buffer).toBe(bytes.buffer);
  });

  it('reads an image in JSON as rosbridge writes sensor_msgs/msg/Image, data in base64', () => {
    const t = imageFromJson('cam', {
      header: { stamp: { sec: 1, nanosec: 0 }, frame_id: 'c' },
      height: 1,
      width: 1,
      encoding: 'mono16',
      is_bigendian: 1,
      step: 2,
      data: Buffer.from([1, 2]).toString('base64'),
    });
    expect([t.shape, Array.from(t.data), t.image]).toEqual([
      [2],
      [1, 2],
      { encoding: 'mono16', width: 1, height: 1, step: 2, is_bigendian: true },
    ]);
  });

  it.each([
    ['not an object', 'rgb8', 'must be {"encoding"'],
    ['neither encoding nor format', { width: 1 }, 'needs one of "encoding"'],
    ['both', { format: 'png', encoding: 'rgb8', width: 1, height: 1, step: 3 }, 'needs one of'],
    ['an unknown key', { format: 'png', quality: 9 }, 'has no key "quality"'],
    ['a fractional width', { encoding: 'rgb8', width: 1.5, height: 1, step: 3 }, '.width must be a whole number'],
    ['a missing step', { encoding: 'rgb8', width: 1, height: 1 }, '.step must be a whole number'],
    ['a megabyte encoding', { encoding: 'x'.repeat(1_000_000), width: 1, height: 1, step: 3 }, '1 to 64 characters'],
    ['is_bigendian of 2', { encoding: 'rgb8', width: 1, height: 1, step: 3, is_bigendian: 2 }, '.is_bigendian'],
  ])('refuses an image header with %s as bad_image', (_what, image, text) => {
    const bytes = frame({ tensors: [{ name: 'cam', dtype: 'uint8', shape: [3], offset: 0, image }] }, 8);
    expect(() => decodeTensors(bytes)).toThrow(text);
    try {
      decodeTensors(bytes);
    } catch (error) {
      expect((error as TensorCodecError).code).toBe('bad_image');
      expect(errorText(error).length).toBeLessThan(400);
    }
  });

  it('refuses an image of float32 or of more than one dimension, and a frame claiming more bytes than sent', () => {
    const code = (entry: Record<string, unknown>, data: number) => {
      try {
        decodeTensors(frame({ tensors: [{ name: 'cam', offset: 0, image: { format: 'png' }, ...entry }] }, data));
        return 'decoded';
      } catch (error) {
        return (error as TensorCodecError).code;
      }
    };
    expect(code({ dtype: 'float32', shape: [2] }, 8)).toBe('bad_image');
    expect(code({ dtype: 'uint8', shape: [2, 4] }, 8)).toBe('bad_image');
    expect(code({ dtype: 'uint8', shape: [9] }, 8)).toBe('bad_payload');
    expect(code({ dtype: 'uint8', shape: [8] }, 8)).toBe('decoded');
  });

  it('carries errors', () => {
    expect(decodeTensors(encodeError('bad_shape', 'no')).fields).toEqual({
      error: { code: 'bad_shape', message: 'no' },
    });
  });

  it.each([
    ['too short', new Uint8Array(2), 'bad_payload'],
    ['header past the end', Uint8Array.of(255, 0, 0, 0, 1), 'bad_payload'],
    ['float64 tensor', frame({ tensors: [{ name: 'x', dtype: 'float64', shape: [1], offset: 0 }] }, 8), 'bad_dtype'],
    ['bad shape', frame({ tensors: [{ name: 'x', dtype: 'float32', shape: [-1], offset: 0 }] }, 8), 'bad_shape'],
    [
      'data past the end',
      frame({ tensors: [{ name: 'x', dtype: 'float32', shape: [10], offset: 0 }] }, 8),
      'bad_payload',
    ],
    ['not JSON', Uint8Array.of(3, 0, 0, 0, 0x7b, 0x7b, 0x7b), 'bad_payload'],
  ])('rejects %s', (_what, bytes, code) => {
    try {
      decodeTensors(bytes);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TensorCodecError);
      expect((error as TensorCodecError).code).toBe(code);
    }
  });

  it.each([
    [
      'a megabyte name',
      { name: 'n'.repeat(1_000_000), dtype: 'float64', shape: [1], offset: 0 },
      '"... (1000000 characters) has dtype "float64"',
    ],
    [
      'a shape of 100000 dimensions',
      { name: 'x', dtype: 'float32', shape: new Array<number>(100_000).fill(-1), offset: 0 },
      'got a list of 100000',
    ],
  ])('quotes at most a few hundred characters of %s in its error', (_what, tensor, text) => {
    expect(() => decodeTensors(frame({ tensors: [tensor] }, 8))).toThrow(text);
    try {
      decodeTensors(frame({ tensors: [tensor] }, 8));
    } catch (error) {
      expect(errorText(error).length).toBeLessThan(400);
    }
  });
});

function frame(header: unknown, dataBytes: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + h.length + dataBytes);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  return out;
}
