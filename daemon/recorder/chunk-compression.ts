export type ChunkCompression = 'none' | 'zstd' | 'lz4';

export type Compressor = (data: Uint8Array) => Promise<Uint8Array>;

/**
 * The chunk compressor for a setting, loaded lazily. lz4 runs on libuv's thread pool (lz4-napi), so it
 * never holds up the event loop; zstd runs in WebAssembly on the calling thread (@foxglove/wasm-zstd, level
 * 1), which costs the event loop a few ms per MiB of chunk.
 */
export async function loadCompressor(kind: ChunkCompression): Promise<Compressor | undefined> {
  if (kind === 'none') return undefined;
  if (kind === 'lz4') {
    const { compressFrame } = await import('lz4-napi');
    return async (data) => compressFrame(data);
  }
  const zstd = await import('@foxglove/wasm-zstd');
  await zstd.isLoaded;
  return async (data) => zstd.compress(data, 1);
}
