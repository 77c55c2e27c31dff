import { describe, expect, it } from 'vitest';
import { MessageCodec } from '../bus/codec.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { ClientMessageReader } from './client-message-reader.ts';

const definitions = new DefinitionsRegistry({ distro: 'jazzy' });
const codec = new MessageCodec(definitions);
const reader = (type: string) => new ClientMessageReader(type, definitions.resolve(type).definitions);
const json = (r: ClientMessageReader, value: string) => r.read('json', new TextEncoder().encode(value));
const problem = (result: ReturnType<ClientMessageReader['read']>) => (result.ok ? undefined : result.problem);

describe('ClientMessageReader', () => {
  it("takes JSON of the type's shape, missing fields included, and names the path of what is not", () => {
    const twist = reader('geometry_msgs/msg/Twist');
    expect(json(twist, '{"linear":{"x":0.1}}')).toEqual({ ok: true, fields: { linear: { x: 0.1 } } });
    expect(json(twist, '{}')).toMatchObject({ ok: true });
    expect(problem(json(twist, '[1,2]'))).toBe('expected a geometry_msgs/msg/Twist object, got array');
    expect(problem(json(twist, '{"linear":{"x":"fast"}}'))).toBe('linear.x: expected number (float64), got string');
    expect(problem(json(twist, '{"linaer":{"x":1}}'))).toBe(
      'linaer: not a field of geometry_msgs/msg/Twist (did you mean "linear"?)',
    );
    expect(problem(json(twist, '{"__proto__":{"x":1}}'))).toMatch(
      /^__proto__: not a field of geometry_msgs\/msg\/Twist \(fields: linear, angular\)$/,
    );
    expect(problem(json(twist, '{"linear":'))).toMatch(/^not JSON: /);

    const joints = reader('sensor_msgs/msg/JointState');
    expect(
      json(joints, '{"header":{"stamp":{"sec":1,"nanosec":2},"frame_id":"base"},"name":["a"],"position":[0.5]}'),
    ).toMatchObject({ ok: true });
    expect(problem(json(joints, '{"name":["a",2]}'))).toBe('name[1]: expected string, got number');
    expect(problem(json(joints, '{"header":{"stamp":{"sec":1.5}}}'))).toBe(
      'header.stamp.sec: expected int32 (an integer from -2147483648 to 2147483647), got 1.5',
    );
    expect(problem(json(joints, '{"header":{"stamp":{"nanosec":-1}}}'))).toMatch(
      /^header\.stamp\.nanosec: expected uint32/,
    );
    expect(problem(json(joints, '{"position":{"0":1}}'))).toBe('position: expected array, got object');

    const covariance = reader('geometry_msgs/msg/PoseWithCovariance');
    expect(problem(json(covariance, '{"covariance":[1,2,3]}'))).toBe('covariance: expected 36 items, got 3');
  });

  it('takes plain CDR (little- or big-endian, with up to 3 bytes of padding) and nothing else', () => {
    const str = reader('std_msgs/msg/String');
    const hi = codec.encode('std_msgs/msg/String', { data: 'hi' }); // 4 + 4 + 3 bytes: padded to 12 on the wire by some
    expect(str.read('cdr', hi)).toEqual({ ok: true, fields: { data: 'hi' } });
    const padded = new Uint8Array(hi.byteLength + 3);
    padded.set(hi);
    expect(str.read('cdr', padded)).toMatchObject({ ok: true });
    const over = new Uint8Array(hi.byteLength + 4);
    over.set(hi);
    expect(problem(str.read('cdr', over))).toBe(
      '4 bytes follow the 11-byte CDR std_msgs/msg/String (CDR pads at most 3)',
    );
    expect(problem(str.read('cdr', hi.subarray(0, 2)))).toBe(
      '2 bytes are not CDR: it starts with a 4-byte encapsulation header',
    );
    // Cut short, alone in its buffer or a slice of a larger one (the reader must not read the neighbour's bytes).
    for (const cut of [hi.slice(0, 9), hi.subarray(0, 9)]) {
      expect(problem(str.read('cdr', cut))).toBe(
        '9 bytes do not decode as CDR std_msgs/msg/String (cut short, or a length in it is wrong): a string of 3 bytes at offset 8 runs past the end of the 9-byte message',
      );
    }
    for (const [b0, b1, shown] of [
      [0, 0x77, '0x77'],
      [0, 0x07, '0x07'],
      [0x10, 0x01, '0x1001'],
    ] as const) {
      const bytes = Uint8Array.from(hi);
      bytes[0] = b0;
      bytes[1] = b1;
      expect(problem(str.read('cdr', bytes))).toBe(
        `CDR encapsulation ${shown} is not one of 0x00 (CDR_BE), 0x01 (CDR_LE)`,
      );
    }
    const bigEndian = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0]);
    expect(str.read('cdr', bigEndian)).toEqual({ ok: true, fields: { data: 'hi' } });
  });
});
