import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, statfs, writeFile, type FileHandle } from 'node:fs/promises';

/**
 * One file being written, at explicit positions. Several writes may be in flight at once (at disjoint
 * positions); `sync` and `close` are called only once all have landed.
 */
export interface SegmentFile {
  /** Writes `pieces` one after another at `position`; a short write is finished (or fails with its error). */
  writev(pieces: readonly Uint8Array[], position: bigint): Promise<void>;
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
  /**
   * Free space for an unprivileged writer on the file system holding `dir`: bytes, and inodes (Infinity where the file
   * system has no fixed count, as btrfs).
   */
  freeSpace(dir: string): Promise<FreeSpace>;
  /** The names in a directory. */
  list(dir: string): Promise<string[]>;
  /** A small text file's content, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
}

export interface FreeSpace {
  bytes: number;
  inodes: number;
}

class FsSegmentFile implements SegmentFile {
  #fh: FileHandle;
  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async writev(pieces: readonly Uint8Array[], position: bigint): Promise<void> {
    let expected = 0;
    for (const p of pieces) expected += p.byteLength;
    const { bytesWritten } = await this.#fh.writev(pieces, Number(position));
    // A short write happens when the disk fills mid-call: write the rest, so an ENOSPC surfaces as an error.
    if (bytesWritten < expected) await this.writev(rest(pieces, bytesWritten), position + BigInt(bytesWritten));
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
    const tmp = tempName(path);
    try {
      await writeFile(tmp, text, { flush: true });
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true }).catch(() => undefined); // the write's own error is the one to report
      throw error;
    }
  },
  async freeSpace(dir) {
    const s = await statfs(dir);
    // A file system that reports no inodes at all (btrfs) makes them as needed: only bytes limit it.
    return { bytes: s.bavail * s.bsize, inodes: s.files > 0 ? s.ffree : Infinity };
  },
  async list(dir) {
    return readdir(dir);
  },
  async readText(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
};

/**
 * A temporary name beside `path` that no other writer uses: two writers of the same file (the recorder,
 * bag repair, retention on a bag no recorder holds) each rename their own whole file over it, and one's
 * rename never takes the other's temporary file away.
 */
export function tempName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}
