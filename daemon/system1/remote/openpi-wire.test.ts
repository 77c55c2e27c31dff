import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { encodeObservation, messageReader, OpenpiWireError, replyArray } from './openpi-wire.ts';

/** A map as msgpack_numpy packs an array: keys as msgpack bin (0xc4 n bytes). */
function ndarrayMap(data: Uint8Array, dtype: string, shape: number[]): Uint8Array {
  const bin = (text: string) => [0xc4, text.length, ...Buffer.from(text)];
  const str = (text: string) => [0xa0 + text.length, ...Buffer.from(text)];
  return Uint8Array.from([
    0x84,
    ...bin('__ndarray__'),
    0xc3,
    ...bin('data'),
    0xc4,
    data.byteLength,
    ...data,
    ...bin('dtype'),
    ...str(dtype),
    ...bin('shape'),
    0x90 + shape.length,
    ...shape,
  ]);
}

describe("openpi's wire", () => {
  it('writes an observation as msgpack_numpy does: bin keys, dtype strings, shapes, and fields beside', () => {
    const state = Float32Array.from([0.5, -2]);
    const image = new Uint8Array(70_000).map((_, i) => i % 251); // past 65,535: a bin 32
    const bytes = encodeObservation(
      [
        { name: 'observation/state', shape: [2], data: state },
        { name: 'observation/image', shape: [200, 350, 1], data: image },
      ],
      { prompt: 'pick up the cube '.repeat(3), episode: 70_000, scale: -0.25 },
    );
    // A decoder that keeps bin keys as they are sees what Python's msgpack sees: bytes keys, str values.
    const keys: unknown[] = [];
    const decoded = decode(bytes, {
      mapKeyConverter: (key) => {
        keys.push(key);
        return key instanceof Uint8Array ? `bytes:${Buffer.from(key).toString()}` : (key as string);
      },
    }) as Record<string, Record<string, unknown>>;
    expect(keys.filter((k) => k instanceof Uint8Array)).toHaveLength(8);
    const { 'bytes:data': data, ...rest } = decoded['observation/state']!;
    expect(rest).toEqual({ 'bytes:__ndarray__': true, 'bytes:dtype': '<f4', 'bytes:shape': [2] });
    expect(new Float32Array(Uint8Array.from(data as Uint8Array).buffer)).toEqual(state);
    expect(Uint8Array.from(decoded['observation/image']!['bytes:data'] as Uint8Array)).toEqual(image);
    expect(decoded['observation/image']!['bytes:shape']).toEqual([200, 350, 1]);
    expect(decoded['observation/image']!['bytes:dtype']).toBe('|u1');
    expect(decoded.prompt).toBe('pick up the cube '.repeat(3));
    expect(decoded.episode).toBe(70_000);
    expect(decoded.scale).toBe(-0.25);
  });

  it("reads a reply's actions as bytes, dtype and shape, with the server's infer time", () => {
    const read = messageReader(1 << 20);
    const actions = new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer);
    const reply = Uint8Array.from([
      0x82,
      0xa7,
      ...Buffer.from('actions'),
      ...ndarrayMap(actions, '<f4', [2, 2]),
      0xad,
      ...Buffer.from('server_timing'),
      0x81,
      0xa8,
      ...Buffer.from('infer_ms'),
      0xcb,
      ...new Uint8Array(new Float64Array([12.5]).buffer).reverse(),
    ]);
    expect(replyArray(read(reply), 'actions')).toEqual({ dtype: '<f4', shape: [2, 2], bytes: actions, serverMs: 12.5 });
  });

  it('refuses what is not a reply: garbage, a __proto__ key in bytes, no actions, actions that are no array', () => {
    const read = messageReader(1 << 20);
    expect(() => read(Uint8Array.from([0xc1]))).toThrow(OpenpiWireError);
    const proto = Uint8Array.from([0x81, 0xc4, 9, ...Buffer.from('__proto__'), 0xc3]);
    expect(() => read(proto)).toThrow('a map key __proto__ (bytes) is not accepted');
    expect(() => replyArray({ policy_timing: {} }, 'actions')).toThrow(
      'the reply has no "actions" (keys: policy_timing)',
    );
    expect(() => replyArray({ actions: [1, 2] }, 'actions')).toThrow('is a list of 2, not a NumPy array');
    expect(() => replyArray(new Uint8Array(3), 'actions')).toThrow('the reply is 3 bytes, not a map');
  });

  it('refuses a bin or a string past its limit before reading it', () => {
    const read = messageReader(1024);
    const big = Uint8Array.from([0xc6, 0, 0, 0x10, 0, ...new Uint8Array(16)]); // claims 1 MiB
    expect(() => read(big)).toThrow(/not msgpack as openpi writes it: Max length exceeded/);
  });
});
