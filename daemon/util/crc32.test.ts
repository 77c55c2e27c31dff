import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Implementation, crc32Table } from './crc32.ts';

describe('crc32', () => {
  it('is the IEEE CRC-32 (check value of "123456789"), native and table alike', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it("uses the native module here and gives zlib's values, on subarrays and continued across pieces", () => {
    expect(crc32Implementation()).toBe('@node-rs/crc32');
    const whole = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 131 + (i >> 8)) & 0xff);
    const piece = whole.subarray(1234, 250_000);
    expect(crc32(piece)).toBe(zlibCrc32(piece));
    expect(crc32(whole.subarray(100_000), crc32(whole.subarray(0, 100_000)))).toBe(zlibCrc32(whole));
    expect(crc32(new Uint8Array(0), 0xdeadbeef)).toBe(0xdeadbeef);
  });

  it('the table version (the fallback where zlib has no crc32) agrees on buffers, ranges and continuations', () => {
    for (const size of [0, 1, 7, 64, 1000, 70_000]) {
      const bytes = randomBytes(size);
      expect(crc32Table(bytes)).toBe(crc32(bytes));
      const start = Math.floor(size / 3);
      const end = size - Math.floor(size / 4);
      expect(crc32Table(bytes, start, end)).toBe(crc32(bytes.subarray(start, end)));
    }
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
    expect(crc32Table(data.subarray(10), 0, 4990, zlibCrc32(data.subarray(0, 10)))).toBe(zlibCrc32(data));
  });
});
