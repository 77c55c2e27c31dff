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
});
