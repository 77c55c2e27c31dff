import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import zstd from '@foxglove/wasm-zstd';
import { BagError } from './errors.ts';
import { ZSTD_MAGIC, zstdContentSize } from './message-compression.ts';
import type { StorageFileReader } from './storage-reader.ts';
import { errorText } from '../util/index.ts';

/** The most a split compressed whole is decompressed to: it is held in memory (wasm's heap) while it is. */
const MAX_DECOMPRESSED = 1 << 30;

/**
 * Opens a split that rosbag2's `compression_mode: FILE` compressed whole (`<bag>_0.mcap.zstd`), as rosbag2 reads one:
 * decompressed to a temporary file first, removed when the reader closes. `open` opens that file. Errors name the
 * compressed split.
 */
export async function openDecompressedSplit(
  file: string,
  open: (decompressed: string) => Promise<StorageFileReader>,
): Promise<StorageFileReader> {
  const bytes = await readFile(file);
  const dir = mkdtempSync(join(tmpdir(), 'auraison-edge-split-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const plain = join(dir, basename(file, '.zstd'));
    await writeFile(plain, await inflate(file, bytes));
    const reader = await open(plain);
    return {
      path: file,
      storage: reader.storage,
      topics: () => reader.topics(),
      summary: () => reader.summary(),
      messages: () => reader.messages(),
      batches: () => reader.batches(),
      close: async () => {
        try {
          await reader.close();
        } finally {
          remove();
        }
      },
    };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * The bytes of a whole-file zstd stream. rosbag2 writes it streaming, so its frames need not state their size: the
 * room to decompress into is then doubled until it holds them, up to MAX_DECOMPRESSED.
 */
async function inflate(file: string, bytes: Uint8Array): Promise<Uint8Array> {
  await zstd.isLoaded;
  if (!isZstd(bytes))
    throw new BagError(file, 'is not zstd data, as compression_mode FILE with compression_format zstd writes a split');
  const stated = zstdContentSize(bytes);
  for (let room = stated ?? Math.max(1 << 20, bytes.byteLength * 4); ; room *= 2) {
    try {
      return zstd.decompress(bytes, Math.min(room, MAX_DECOMPRESSED));
    } catch (error) {
      if (stated === undefined && room < MAX_DECOMPRESSED) continue;
      throw new BagError(
        file,
        `does not decompress (${errorText(error)}${room >= MAX_DECOMPRESSED ? `; more than ${MAX_DECOMPRESSED / 2 ** 30} GiB decompressed is not read here` : ''}): decompress it with \`zstd -d ${file}\`, list the .mcap file in metadata.yaml instead and set compression_mode to none, or use \`ros2 bag convert\``,
      );
    }
  }
}

function isZstd(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) === ZSTD_MAGIC;
}
