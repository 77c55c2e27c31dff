import { describe, expect, it } from 'vitest';
import { DecodeError, MessageCodec } from './codec.ts';
import { DefinitionsRegistry } from './definitions.ts';

const codec = new MessageCodec(new DefinitionsRegistry({ distro: 'jazzy', dirs: [] }));

/** The message's bytes inside a larger buffer, followed by a neighbour's, as in an MCAP chunk. */
function inBuffer(message: Uint8Array, keep = message.byteLength): Uint8Array {
  const buffer = new Uint8Array(16 + message.byteLength + 4096).fill(0x5a);
  buffer.set(message, 16);
  return buffer.subarray(16, 16 + keep);
}

const cases: [string, string, unknown][] = [
  ['a string', 'std_msgs/msg/String', { data: 'a string long enough to be cut' }],
  [
    'an int8 array',
    'std_msgs/msg/Int8MultiArray',
    { layout: { dim: [], data_offset: 0 }, data: new Int8Array(64).fill(3) },
  ],
  [
    'a uint8 array',
    'std_msgs/msg/UInt8MultiArray',
    { layout: { dim: [], data_offset: 0 }, data: new Uint8Array(64).fill(7) },
  ],
  [
    'an array',
    'std_msgs/msg/Float64MultiArray',
    { layout: { dim: [], data_offset: 0 }, data: new Float64Array(16).fill(1.5) },
  ],
  [
    'an array',
    'std_msgs/msg/Float32MultiArray',
    { layout: { dim: [], data_offset: 0 }, data: new Float32Array(16).fill(2.5) },
  ],
];

describe('MessageCodec', () => {
  it.each(cases)(
    'refuses a message cut short inside %s when it is a slice of a larger buffer (%s), and decodes the whole slice',
    (what, type, message) => {
      const bytes = codec.encode(type, message);
      expect(codec.decode(type, inBuffer(bytes))).toEqual(codec.decode(type, bytes.slice()));
      const cut = inBuffer(bytes, bytes.byteLength - 8);
      expect(() => codec.decode(type, cut)).toThrow(DecodeError);
      expect(() => codec.decode(type, cut)).toThrow(`${what} of `);
      expect(() => codec.decode(type, cut.slice())).toThrow(DecodeError);
    },
  );
});
