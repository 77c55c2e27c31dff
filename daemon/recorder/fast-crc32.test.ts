import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Implementation } from './fast-crc32.ts';

describe('the recorder CRC-32', () => {
  it('uses the native module here and gives zlib\'s values, on subarrays and continued across pieces', () => {
    expect(crc32Implementation).toBe('@node-rs/crc32');
    const whole = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 131 + (i >> 8)) & 0xff);
    const piece = whole.subarray(1234, 250_000);
    expect(crc32(piece)).toBe(zlibCrc32(piece));
    expect(crc32(whole.subarray(100_000), crc32(whole.subarray(0, 100_000)))).toBe(zlibCrc32(whole));
    expect(crc32(new Uint8Array(0), 0xdeadbeef)).toBe(0xdeadbeef);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the CRC-32 check value
  });
});

describe('the journal table CRC, the fallback where zlib has no crc32', () => {
  it('continues from an initial value as zlib does', async () => {
    const { crc32Table } = await import('../journal/crc32.ts');
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
    expect(crc32Table(data.subarray(10), 0, 4990, zlibCrc32(data.subarray(0, 10)))).toBe(zlibCrc32(data));
  });
});
