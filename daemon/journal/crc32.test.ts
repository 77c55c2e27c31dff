import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from './crc32.ts';

describe('crc32', () => {
  it('is the IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('agrees with the table version on whole buffers and on ranges', () => {
    for (const size of [0, 1, 7, 64, 1000, 70_000]) {
      const bytes = randomBytes(size);
      expect(crc32(bytes)).toBe(crc32Table(bytes));
      const start = Math.floor(size / 3);
      const end = size - Math.floor(size / 4);
      expect(crc32(bytes, start, end)).toBe(crc32Table(bytes, start, end));
    }
  });
});
