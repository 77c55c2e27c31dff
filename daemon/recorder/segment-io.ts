import { open, rename, statfs, writeFile, type FileHandle } from 'node:fs/promises';

/**
 * One file being written. Calls are made one at a time, each awaited before the next, except `writeAt`:
 * it may still be in flight while the next `writev` appends (it only overwrites bytes already written, and
 * a positioned write does not move the file offset). `sync` and `close` are called only once it is done.
 */
export interface SegmentFile {
  writev(pieces: readonly Uint8Array[]): Promise<void>;
  /** Overwrites bytes already written, at `position` (a chunk's CRC, patched in once computed). */
  writeAt(bytes: Uint8Array, position: number): Promise<void>;
  /** Makes everything written so far durable (fsync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The recorder's whole contact with the disk, behind one small interface so tests can inject faults
 * (a full disk) without root tricks, and the writer knows nothing of `fs`.
 */
export interface SegmentIO {
  create(path: string): Promise<SegmentFile>;
  /** Writes a small file atomically: to a temporary name, fsync, rename. */
  writeAtomic(path: string, text: string): Promise<void>;
  /** Bytes free for an unprivileged writer on the file system holding `dir`. */
  freeBytes(dir: string): Promise<number>;
}

class FsSegmentFile implements SegmentFile {
  #fh: FileHandle;
  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async writev(pieces: readonly Uint8Array[]): Promise<void> {
    let expected = 0;
    for (const p of pieces) expected += p.byteLength;
    const { bytesWritten } = await this.#fh.writev(pieces);
    // A short write happens when the disk fills mid-call: write the rest, so an ENOSPC surfaces as an error.
    if (bytesWritten < expected) await this.writev(rest(pieces, bytesWritten));
  }

  async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.#fh.write(bytes, done, bytes.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  async sync(): Promise<void> {
    await this.#fh.datasync();
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

function rest(pieces: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    if (skip >= p.byteLength) {
      skip -= p.byteLength;
      continue;
    }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}

export const fsSegmentIO: SegmentIO = {
  async create(path) {
    return new FsSegmentFile(await open(path, 'wx'));
  },
  async writeAtomic(path, text) {
    const tmp = `${path}.tmp`;
    await writeFile(tmp, text, { flush: true });
    await rename(tmp, path);
  },
  async freeBytes(dir) {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  },
};
