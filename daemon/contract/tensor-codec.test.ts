import { describe, expect, it } from 'vitest';
import { decodeTensors, encodeError, encodeTensors, TensorCodecError } from './tensor-codec.ts';

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
      expect((error as Error).message.length).toBeLessThan(400);
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
