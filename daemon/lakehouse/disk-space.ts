import { statfs } from 'node:fs/promises';
import { MIN_FREE_INODES } from '../recorder/index.ts';

/** The data dir's file system, as statfs sees it: bytes free to us and its size, and its inodes. */
export interface DiskSpace {
  free: number;
  size: number;
  /** Free inodes, and how many it has: 0 on file systems without a fixed count (btrfs), which never run out. */
  inodesFree?: number;
  inodes?: number;
}

export const MARGIN_MIN = 64 * 2 ** 20;

/**
 * The free space retention keeps on the data dir's file system: the recorder's `min_free_bytes` plus a
 * margin, so recording goes on between passes instead of stopping at the limit and waiting for one. The
 * margin is `min_free_bytes` itself, at least 64 MiB, but at most a tenth of the file system (on a tiny
 * disk the margin would otherwise be all of it).
 */
export function freeSpaceTarget(minFreeBytes: number, fsSize: number): number {
  return minFreeBytes + Math.min(Math.max(MARGIN_MIN, minFreeBytes), Math.floor(fsSize / 10));
}

/**
 * The free inodes retention keeps while a recorder runs: the recorder's MIN_FREE_INODES plus a margin (64,
 * or a hundredth of the file system's inodes, at most a tenth of them). A file system full of small files
 * runs out of inodes with bytes left: the recorder stops below MIN_FREE_INODES, and only deleting files
 * frees inodes. 0 (nothing kept) on file systems without a fixed inode count.
 */
export function freeInodesTarget(inodes: number | undefined): number {
  if (!inodes) return 0;
  return MIN_FREE_INODES + Math.min(Math.max(64, Math.floor(inodes / 100)), Math.floor(inodes / 10));
}

/** Whether `space` is short of what retention keeps for the recorder, in bytes or in inodes. */
export function spaceIsLow(space: DiskSpace, minFreeBytes: number): boolean {
  return (
    space.free < freeSpaceTarget(minFreeBytes, space.size) ||
    (space.inodesFree ?? Infinity) < freeInodesTarget(space.inodes)
  );
}

/** Free and total bytes, and inodes, of the file system holding `dir`. */
export async function statfsSpace(dir: string): Promise<DiskSpace> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize, inodesFree: s.ffree, inodes: s.files };
}
