// isolated: MCAP's decompressors as the process first loads them (vitest.config.ts)
import { compressFrameSync } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { decompressHandlers } from './decompress.ts';

describe('decompressHandlers', () => {
  it('loads every chunk compression and leaves none of its own process error listeners behind', async () => {
    const exceptions = process.listeners('uncaughtException');
    const rejections = process.listeners('unhandledRejection');
    const handlers = await decompressHandlers();
    expect(Object.keys(handlers).sort()).toEqual(['bz2', 'lz4', 'zstd']);
    expect(process.listeners('uncaughtException')).toEqual(exceptions);
    expect(process.listeners('unhandledRejection')).toEqual(rejections);
    expect(await decompressHandlers()).toBe(handlers);
  });

  it('still decompresses good lz4 chunks after a damaged one has failed (the wasm decoder would not)', async () => {
    const { lz4 } = await decompressHandlers();
    const bytesOf = (out: Uint8Array) => new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const plain = new Uint8Array(100_000).fill(7);
    const good = compressFrameSync(Buffer.from(plain));
    expect(bytesOf(lz4!(good, 100_000n))).toEqual(plain);
    const bad = Uint8Array.from(good);
    bad[20]! ^= 0xff;
    bad[40]! ^= 0xff;
    expect(() => lz4!(bad, 100_000n)).toThrow();
    expect(bytesOf(lz4!(good, 100_000n))).toEqual(plain);
  });
});
