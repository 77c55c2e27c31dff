import { describe, expect, it } from 'vitest';
import { MessageCodec } from './codec.ts';
import { DefinitionsRegistry } from './definitions.ts';

const registry = new DefinitionsRegistry({ distro: 'jazzy' });
registry.addMessageText(
  'form_msgs/msg/Forms',
  'string<=6 name\nstring<=4[] tags\nchar[] cs\nbyte[] bs\nuint8[3] fixed\nuint8[<=2] few\nfloat64[] d\n',
  'test',
);
const codec = new MessageCodec(registry);
const check = (type: string, fields: unknown) => codec.validator(type).check(fields);
const problem = (type: string, fields: unknown) => {
  const result = check(type, fields);
  return result.ok ? undefined : result.problem;
};
/** Validates, encodes and decodes, as a publish does, and gives back the decoded message. */
const roundTrip = (type: string, fields: unknown): Record<string, unknown> => {
  const result = check(type, fields);
  if (!result.ok) throw new Error(result.problem);
  return codec.decode(type, codec.encode(type, result.value));
};
const F = 'form_msgs/msg/Forms';

describe('FieldValidator: bounded strings count UTF-8 bytes, as CDR carries them', () => {
  it('takes a string whose bytes fit and refuses one whose characters fit but bytes do not', () => {
    expect(roundTrip(F, { name: 'héllo' }).name).toBe('héllo'); // 6 bytes
    expect(roundTrip(F, { name: '日本' }).name).toBe('日本'); // 6 bytes
    expect(problem(F, { name: 'héllo!' })).toBe('name: expected at most 6 bytes (UTF-8), got 7 for 6 characters');
    expect(problem(F, { name: '日本語' })).toBe('name: expected at most 6 bytes (UTF-8), got 9 for 3 characters');
    expect(problem(F, { name: 'robot🤖' })).toBe('name: expected at most 6 bytes (UTF-8), got 9 for 6 characters');
    expect(problem(F, { tags: ['ok', 'ça va'] })).toBe(
      'tags[1]: expected at most 4 bytes (UTF-8), got 6 for 5 characters',
    );
    expect(problem(F, { name: 'abcdefg' })).toBe('name: expected at most 6 bytes (UTF-8), got 7');
  });
});

describe('FieldValidator: float sequences given as typed arrays', () => {
  it('takes NaN and ±Inf in a Float32Array or Float64Array (REP 117 ranges) and writes them as they are', () => {
    const ranges = new Float32Array([1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const scan = roundTrip('sensor_msgs/msg/LaserScan', { range_min: 0.1, range_max: 10, ranges });
    expect(Array.from(scan.ranges as Float32Array)).toEqual([
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    const d = roundTrip(F, { d: new Float64Array([Number.NaN, -Infinity]) }).d as Float64Array;
    expect(Array.from(d)).toEqual([Number.NaN, -Infinity]);
  });

  it('still refuses them in a plain JSON array, as a model gives it, unless anyFloat', () => {
    expect(problem('sensor_msgs/msg/LaserScan', { ranges: [1, Infinity] })).toBe(
      'ranges[1]: expected a finite number (float32), got Infinity',
    );
    expect(problem(F, { d: [Number.NaN] })).toBe('d[0]: expected a finite number (float64), got NaN');
    expect(codec.validator(F).check({ d: [Number.NaN] }, { anyFloat: true }).ok).toBe(true);
  });
});

describe('FieldValidator: byte sequences', () => {
  it('takes a base64 string for uint8[], byte[] and char[], as rosbridge sends them, and writes the decoded bytes', () => {
    const image = roundTrip('sensor_msgs/msg/Image', { data: 'AQID' });
    expect(Array.from(image.data as Uint8Array)).toEqual([1, 2, 3]);
    const forms = roundTrip(F, { cs: Buffer.from('hi').toString('base64'), bs: '/wA=', fixed: 'AAEC', few: '' });
    expect(Array.from(forms.cs as Uint8Array)).toEqual([104, 105]);
    expect(Array.from(forms.bs as Uint8Array)).toEqual([255, 0]);
    expect(Array.from(forms.fixed as Uint8Array)).toEqual([0, 1, 2]);
    expect(Array.from(forms.few as Uint8Array)).toEqual([]);
  });

  it('checks the decoded length against fixed and bounded sizes, and says what a string must be', () => {
    expect(problem(F, { fixed: 'AQI=' })).toBe('fixed: expected 3 items, got 2');
    expect(problem(F, { few: 'AQID' })).toBe('few: expected at most 2 items, got 3');
    expect(problem('sensor_msgs/msg/Image', { data: 'not base64!' })).toBe(
      'data: expected array or base64 string, got a string that is not base64 ("not base64!")',
    );
    expect(problem('sensor_msgs/msg/Image', { data: { 0: 1 } })).toBe(
      'data: expected array or base64 string, got object',
    );
    // Only byte sequences take base64: a string for float64[] is still wrong.
    expect(problem(F, { d: 'AAAA' })).toBe('d: expected array, got string');
  });

  it('takes an Int8Array for char[] (a C char buffer) as the same bytes', () => {
    const forms = roundTrip(F, { cs: new Int8Array([72, -1, 0]) });
    expect(Array.from(forms.cs as Uint8Array)).toEqual([72, 255, 0]);
  });
});
