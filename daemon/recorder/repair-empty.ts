import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BagError } from '../bags/index.ts';
import { MAGIC } from '../bags/index.ts';
import type { McapDamage } from '../bags/index.ts';
import type { BagMetadata } from '../bags/index.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import { RECORDING_MARKER } from './recording-marker.ts';
import type { SegmentIO } from './segment-io.ts';
import { errorText } from '../util/index.ts';

/**
 * The names in a bag directory; a BagError naming the path and what to do when it is not a directory that can be read.
 */
export function listBag(dir: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BagError(dir, code === 'ENOENT' ? 'no such directory' : `cannot be read (${code ?? errorText(error)})`);
  }
  if (!isDir)
    throw new BagError(
      dir,
      "not a bag directory: it is a file. `bag repair` takes the bag's directory (the one holding metadata.yaml) or one .mcap file; `bag info` also reads a bare .mcap or .db3 file",
    );
  try {
    return readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BagError(
      dir,
      `cannot list the directory (${code ?? errorText(error)}); nothing was modified. Run as a user who may read and write it`,
    );
  }
}

/**
 * For a bag directory holding no storage file: returns when it is a bag in which nothing was recorded (it
 * holds the recorder's `.recording` marker, or a metadata.yaml listing no file and no message), which a repair
 * finishes as an empty bag; throws a BagError saying what it is otherwise, and nothing is modified.
 */
export function checkNothingRecorded(
  dir: string,
  marker: boolean,
  previous: BagMetadata | undefined,
  metaError: Error | undefined,
): void {
  const metaPath = join(dir, 'metadata.yaml');
  if (previous) {
    const listed =
      previous.relativeFilePaths.length > 0 ? previous.relativeFilePaths : previous.files.map((f) => f.path);
    if (listed.length > 0 || previous.messageCount > 0) {
      throw new BagError(
        metaPath,
        `lists ${listed.join(', ') || 'no file'} (${previous.messageCount} messages), but no .mcap or .db3 file is in ${dir}: nothing to repair from, and nothing was modified. If the bag's files were moved, put them back`,
      );
    }
    return;
  }
  if (marker) return; // the recorder was killed before its first message reached the bag
  if (metaError)
    throw new BagError(
      metaPath,
      `${metaError.message.startsWith(metaPath) ? metaError.message.slice(metaPath.length + 2) : metaError.message}; and no .mcap or .db3 file is in ${dir}: nothing to repair from, and nothing was modified`,
    );
  throw new BagError(
    dir,
    `not a bag: no metadata.yaml, no .mcap or .db3 file and no ${RECORDING_MARKER} marker in it; nothing to repair, and nothing was modified (is this the bag's directory?)`,
  );
}

/**
 * Whether a split holding no message is one cut off before its first record was whole: a recorder killed
 * (or a power cut) while it wrote the magic, the header or its first chunk. Its MCAP magic is intact (or cut
 * off itself), it does not end with the closing magic, and its one damaged stretch runs from a record that
 * the end of the file cuts short to that end. A file damaged otherwise is refused (see `refusal`).
 */
export function cutOffAtStart(path: string, scan: { size: number; damage: McapDamage[] }): boolean {
  const { size, damage } = scan;
  const head = readBytes(path, 0, Math.min(8, size));
  if (MAGIC.slice(0, head.length).some((b, i) => head[i] !== b)) return false;
  if (size < 8) return true; // the magic itself cut off
  if (size >= 16 && MAGIC.every((b, i) => readBytes(path, size - 8, 8)[i] === b)) return false;
  if (damage.length !== 1) return false;
  const [d] = damage as [McapDamage];
  return (
    d.offset >= 8 && d.offset + d.length === size && /runs past the end of the file|inside a record/.test(d.problem)
  );
}

function readBytes(path: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, out, 0, length, position);
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes an MCAP file holding no record (magic, header, summary, footer) at `path`, through a temporary
 * file renamed over it: the split of a bag in which nothing was recorded.
 */
export async function writeEmptySplit(path: string, io: SegmentIO): Promise<void> {
  const tmp = `${path}.repairing`;
  await unlink(tmp).catch(() => undefined); // a copy left by a repair that was killed
  const writer = new McapSegmentWriter({ file: io.create(tmp), library: 'auraison-edge repair' });
  try {
    await writer.end();
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await rename(tmp, path);
}
