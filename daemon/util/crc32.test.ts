import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Implementation } from './crc32.ts';

describe('crc32', () => {
  it('is the IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it("uses the native module here and gives zlib's values, on subarrays and continued across pieces", () => {
    expect(crc32Implementation()).toBe('@node-rs/crc32');
    const whole = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 131 + (i >> 8)) & 0xff);
    const piece = whole.subarray(1234, 250_000);
    expect(crc32(piece)).toBe(zlibCrc32(piece));
    expect(crc32(whole.subarray(100_000), crc32(whole.subarray(0, 100_000)))).toBe(zlibCrc32(whole));
    expect(crc32(new Uint8Array(0), 0xdeadbeef)).toBe(0xdeadbeef);
  });
});
