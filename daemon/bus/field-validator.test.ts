import { describe, expect, it } from 'vitest';
import { MessageCodec } from './codec.ts';
import { DefinitionsRegistry } from './definitions.ts';

const registry = new DefinitionsRegistry({ distro: 'jazzy' });
registry.addMessageText(
  'odd_msgs/msg/Bounded',
  'float64[<=2] v\nstring<=3 s\nint32[3] fixed\nint64 big\nuint64[] ubig\nfloat32 f\n',
  'test',
);
const codec = new MessageCodec(registry);
const problem = (type: string, fields: unknown) => {
  const result = codec.validator(type).check(fields);
  return result.ok ? undefined : result.problem;
};

describe('FieldValidator', () => {
  it('refuses what the CDR writer would silently change, naming the field path', () => {
    expect(problem('std_msgs/msg/String', { data: 5 })).toBe('data: expected string, got number');
    expect(problem('std_msgs/msg/String', { datum: 'x' })).toBe(
      'datum: not a field of std_msgs/msg/String (did you mean "data"?)',
    );
    expect(problem('std_msgs/msg/Int32', { data: '12' })).toBe(
      'data: expected int32 (an integer from -2147483648 to 2147483647), got "12"',
    );
    expect(problem('std_msgs/msg/Int32', { data: 1e12 })).toBe(
      'data: expected int32 (an integer from -2147483648 to 2147483647), got 1000000000000',
    );
    expect(problem('std_msgs/msg/UInt8', { data: -1 })).toBe('data: expected uint8 (an integer from 0 to 255), got -1');
    expect(problem('std_msgs/msg/Bool', { data: 1 })).toBe('data: expected boolean, got number');
    expect(problem('std_msgs/msg/Float64MultiArray', { data: 'abc' })).toBe('data: expected array, got string');
    expect(problem('std_msgs/msg/Float64MultiArray', { data: { length: 1e8 } })).toBe(
      'data: expected array, got object',
    );
    expect(problem('std_msgs/msg/Float64MultiArray', { layout: { dim: [{ label: 'x', size: -1 }] } })).toBe(
      'layout.dim[0].size: expected uint32 (an integer from 0 to 4294967295), got -1',
    );
    expect(problem('std_msgs/msg/Float64MultiArray', { data: new Float32Array(2) })).toBe(
      'data: expected array, got Float32Array',
    );
    expect(problem('std_msgs/msg/Float64MultiArray', 'hello')).toBe(
      'expected a std_msgs/msg/Float64MultiArray object, got string',
    );
  });

  it('checks bounds, fixed lengths, 64-bit integers and float ranges', () => {
    const B = 'odd_msgs/msg/Bounded';
    expect(problem(B, { v: [1, 2, 3] })).toBe('v: expected at most 2 items, got 3');
    expect(problem(B, { s: 'toolong' })).toBe('s: expected at most 3 bytes (UTF-8), got 7');
    expect(problem(B, { fixed: [1] })).toBe('fixed: expected 3 items, got 1');
    expect(problem(B, { big: 2 ** 63 })).toMatch(
      /^big: expected int64 .*past 2\^53 where a number is not exact: give it as a string$/,
    );
    expect(problem(B, { big: '9223372036854775808' })).toMatch(
      /^big: expected int64 \(an integer from -9223372036854775808 to 9223372036854775807, as a number or a decimal string\), got 9223372036854775808$/,
    );
    expect(problem(B, { ubig: ['-1'] })).toMatch(/^ubig\[0\]: expected uint64 .*got -1$/);
    expect(problem(B, { f: 1e39 })).toBe('f: expected float32 (at most 3.4028234663852886e+38 in size), got 1e+39');
    expect(problem(B, { f: Infinity })).toBe('f: expected a finite number (float32), got Infinity');
    // The Foxglove client path leaves such floats to the policy hooks.
    expect(codec.validator(B).check({ f: Infinity }, { anyFloat: true })).toEqual({ ok: true, value: { f: Infinity } });
  });

  it('returns the message to encode: the same object, or a copy with 64-bit decimal strings as bigints', () => {
    const twist = { linear: { x: 0.1 } };
    expect(codec.validator('geometry_msgs/msg/Twist').check(twist)).toEqual({ ok: true, value: twist });
    expect((codec.validator('geometry_msgs/msg/Twist').check(twist) as { value: unknown }).value).toBe(twist);
    const given = { big: '9223372036854775807', ubig: [1, '18446744073709551615'], fixed: new Int32Array(3), f: 0.5 };
    const result = codec.validator('odd_msgs/msg/Bounded').check(given);
    expect(result).toEqual({
      ok: true,
      value: { big: 2n ** 63n - 1n, ubig: [1n, 2n ** 64n - 1n], fixed: new Int32Array(3), f: 0.5 },
    });
    expect(given.big).toBe('9223372036854775807');
    const decoded = codec.decode<{ big: bigint; ubig: BigUint64Array }>(
      'odd_msgs/msg/Bounded',
      codec.encode('odd_msgs/msg/Bounded', (result as { value: unknown }).value),
    );
    expect([decoded.big, Array.from(decoded.ubig)]).toEqual([2n ** 63n - 1n, [1n, 2n ** 64n - 1n]]);
  });
});
