import { BagError } from './errors.ts';
import { decompressHandlers } from './decompress.ts';
import type { BagMetadata } from './metadata.ts';
import type { StorageFileReader, StorageMessage } from './storage-reader.ts';
import { errorText } from '../util/index.ts';

/** Turns one stored message's bytes back into its CDR. */
export type MessageDecompressor = (data: Uint8Array, where: string) => Uint8Array;

/**
 * What a bag's metadata.yaml says about compression, as a decompressor for each message: rosbag2's
 * `compression_mode: MESSAGE` stores every message's CDR compressed on its own (zstd, the one format
 * rosbag2 ships), in an ordinary .mcap or .db3 file. undefined for a bag whose messages are not compressed one by
 * one (FILE mode compresses each split whole: see openDecompressedSplit). Other formats are a BagError saying what
 * to do.
 */
export async function messageDecompressor(
  metadata: BagMetadata | undefined,
  metaFile: string,
): Promise<MessageDecompressor | undefined> {
  if (!compressed(metadata)) return undefined;
  const problem = compressionProblem(metadata);
  if (problem) throw new BagError(metaFile, problem);
  if (fileCompressed(metadata)) return undefined; // each split is decompressed whole when it is opened
  const zstd = (await decompressHandlers()).zstd;
  if (!zstd) throw new BagError(metaFile, 'zstd is not available to decompress its messages');
  return (data, where) => {
    const size = zstdContentSize(data);
    if (size === undefined)
      throw new BagError(
        where,
        'a message is not a zstd frame with its size in its header, as compression_mode MESSAGE writes one',
      );
    try {
      return zstd(data, BigInt(size));
    } catch (error) {
      throw new BagError(where, `a zstd-compressed message does not decompress: ${errorText(error)}`);
    }
  };
}

function compressed(metadata: BagMetadata | undefined): metadata is BagMetadata {
  const mode = metadata?.compressionMode.toUpperCase() ?? '';
  return mode !== '' && mode !== 'NONE';
}

/** Why a bag's compression cannot be read, or undefined when it can (none, or MESSAGE with zstd). */
export function compressionProblem(metadata: BagMetadata | undefined): string | undefined {
  if (!compressed(metadata)) return undefined;
  const { compressionMode: mode, compressionFormat: format } = metadata;
  const known = mode.toUpperCase() === 'MESSAGE' || mode.toUpperCase() === 'FILE';
  if (known && format === 'zstd') return undefined;
  const what = known
    ? `format "${format}" (only zstd is read)`
    : `mode "${mode}" (${format}; MESSAGE and FILE are read)`;
  return `compression ${what} is not supported; decompress the bag with \`ros2 bag convert\` first`;
}

/** Whether each split of the bag is compressed whole (`compression_mode: FILE`, `<bag>_0.mcap.zstd`). */
export function fileCompressed(metadata: BagMetadata | undefined): boolean {
  return metadata?.compressionMode.toUpperCase() === 'FILE';
}

/** `reader` with each message's bytes decompressed (see messageDecompressor). */
export function decompressingReader(reader: StorageFileReader, decompress: MessageDecompressor): StorageFileReader {
  const inflate = (m: StorageMessage): StorageMessage => ({
    ...m,
    data: decompress(m.data, `${reader.path}: ${m.topic} at ${m.logTime} ns`),
  });
  return {
    path: reader.path,
    storage: reader.storage,
    topics: () => reader.topics(),
    summary: () => reader.summary(),
    async *messages() {
      for await (const m of reader.messages()) yield inflate(m);
    },
    async *batches() {
      for await (const batch of reader.batches()) yield batch.map(inflate);
    },
    close: () => reader.close(),
  };
}

/** The first four bytes of a zstd frame (little-endian). */
export const ZSTD_MAGIC = 0xfd2fb528;

/** The decompressed size a zstd frame's header states (RFC 8878 3.1.1.1), or undefined when it has none. */
export function zstdContentSize(frame: Uint8Array): number | undefined {
  if (frame.byteLength < 6) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== ZSTD_MAGIC) return undefined;
  const descriptor = frame[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes;
  if (at + fcsBytes > frame.byteLength) return undefined;
  if (fcsBytes === 1) return view.getUint8(at);
  if (fcsBytes === 2) return view.getUint16(at, true) + 256;
  if (fcsBytes === 4) return view.getUint32(at, true);
  return Number(view.getBigUint64(at, true));
}
