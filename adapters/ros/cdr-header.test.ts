import { describe, expect, it } from 'vitest';
import { cdrHeaderProblem } from './cdr-header.ts';

describe('cdrHeaderProblem', () => {
  it('takes the headers ROS 2 middlewares write: plain CDR either endian, XCDR2, parameter lists', () => {
    for (const header of [
      [0, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 1, 0, 3],
      [0, 7, 0, 0],
      [0, 3, 0, 0],
    ])
      expect(cdrHeaderProblem(Uint8Array.from([...header, 5, 0, 0, 0]))).toBeUndefined();
  });

  it('refuses bytes too short for a header, and bytes that start with none', () => {
    expect(cdrHeaderProblem(Uint8Array.from([0, 1]))).toBe(
      '2 bytes, shorter than the 4-byte encapsulation header of CDR',
    );
    expect(cdrHeaderProblem(Buffer.from('not CDR at all'))).toBe(
      'it starts 6e 6f 74 20, which is no CDR encapsulation header (00 00 or 00 01 for plain CDR)',
    );
    expect(cdrHeaderProblem(Uint8Array.from([0, 0x0c, 0, 0]))).toContain('it starts 00 0c 00 00');
    expect(cdrHeaderProblem(Uint8Array.from([1, 1, 0, 0]))).toContain('it starts 01 01 00 00');
  });
});
