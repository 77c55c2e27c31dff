import { ZstdWorker } from './zstd-worker.ts';

export type ChunkCompression = 'none' | 'zstd' | 'lz4';

/** Compresses a chunk's records, given as the pieces they are in; resolves with the compressed bytes, in pieces. */
export interface Compressor {
  (pieces: readonly Uint8Array[], byteLength: number): Promise<Uint8Array[]>;
  /** Ends what it runs on (zstd's worker thread), where there is something to end. */
  close?(): Promise<void>;
}

/**
 * The most bytes the event loop copies or checksums in one go for a chunk (then it yields): 4 MiB, LZ4's
 * largest block. A 50 MB point cloud is one piece of its chunk; joined and CRC'd in one go, it held the
 * loop for 100 ms and more.
 */
export const LOOP_STEP_BYTES = 4 * 1024 * 1024;

/**
 * The chunk compressor for a setting, loaded lazily. Neither runs on the event loop. lz4 compresses on
 * libuv's thread pool (lz4-napi), a block of at most LOOP_STEP_BYTES at a time, and the chunk is never
 * joined into one buffer: the event loop only copies pieces smaller than a block together (lz4-napi also
 * copies each block's input before it hands it to the pool). zstd compresses the chunk, joined, into one
 * frame on a worker thread of its own (@foxglove/wasm-zstd, level 1; see ZstdWorker): on the event loop it
 * cost a few ms per MiB of chunk. Call `close` once done with a compressor.
 */
export async function loadCompressor(kind: ChunkCompression): Promise<Compressor | undefined> {
  if (kind === 'none') return undefined;
  if (kind === 'lz4') {
    const { compress } = await import('lz4-napi');
    return (pieces) => lz4Frame(pieces, compress);
  }
  const zstd = new ZstdWorker({ level: 1, stepBytes: LOOP_STEP_BYTES });
  const compressor: Compressor = async (pieces, byteLength) => [await zstd.compress(pieces, byteLength)];
  compressor.close = () => zstd.close();
  return compressor;
}

/**
 * The LZ4 frame header: magic; FLG 0x60 (version 01, independent blocks, no block or content checksum, no
 * content size); BD 0x70 (blocks up to 4 MiB); HC 0x73, the header checksum (byte 2 of xxh32 of FLG and BD).
 * A test decodes our frames with lz4-napi and with @foxglove/wasm-lz4 (what @mcap/support reads with).
 */
const FRAME_HEADER = new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73]);
const END_MARK = new Uint8Array(4);
/** The high bit of a block's size: the block is stored uncompressed. */
const UNCOMPRESSED = 0x8000_0000;

/**
 * An LZ4 frame of the pieces, as one block per LOOP_STEP_BYTES of input: a large piece is cut into blocks
 * (views, not copies), runs of small pieces are joined into one block. Blocks are compressed one after
 * another, so the loop never does more than one block's copy at once. `compressBlock` is lz4-napi's
 * `compress`: a 4-byte size, then a raw LZ4 block. A block that does not shrink is stored as it is.
 */
export async function lz4Frame(
  pieces: readonly Uint8Array[],
  compressBlock: (data: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [FRAME_HEADER];
  for (const block of blocks(pieces, LOOP_STEP_BYTES)) {
    const compressed = (await compressBlock(block)).subarray(4);
    const stored = compressed.byteLength >= block.byteLength;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(
      0,
      stored ? (block.byteLength | UNCOMPRESSED) >>> 0 : compressed.byteLength,
      true,
    );
    out.push(size, stored ? block : compressed);
  }
  out.push(END_MARK);
  return out;
}

/** The pieces regrouped into blocks of at most `max` bytes: large pieces cut, small neighbours joined. */
function* blocks(pieces: readonly Uint8Array[], max: number): Generator<Uint8Array> {
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const joined = () => {
    const block = run.length === 1 ? run[0]! : Buffer.concat(run, runBytes);
    run = [];
    runBytes = 0;
    return block;
  };
  for (const piece of pieces) {
    for (let at = 0; at < piece.byteLength;) {
      const take = Math.min(piece.byteLength - at, max - runBytes);
      run.push(at === 0 && take === piece.byteLength ? piece : piece.subarray(at, at + take));
      runBytes += take;
      at += take;
      if (runBytes === max) yield joined();
    }
  }
  if (runBytes > 0) yield joined();
}
