import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerHere } from '../peers/missing.ts';

/**
 * A real small file system for disk-full tests: a tmpfs of `size` (mount's syntax: `300k`, `4m`) mounted on
 * a fresh directory. Mounting needs root (CI runs as root); `canMountTmpfs()` says whether this machine can.
 * `options` go to mount as they are (`nr_inodes=40`: a file system with bytes left and no inodes).
 */
export function mountSmallTmpfs(
  size: string,
  options = '',
): { path: string; resize: (size: string) => void; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'auraison-tmpfs-'));
  mkdirSync(path, { recursive: true });
  try {
    // mount's complaint goes into the error, not onto the test run's output
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${options ? `,${options}` : ''}`, 'tmpfs', path], {
      stdio: 'pipe',
    });
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    throw error;
  }
  return {
    path,
    resize: (to) => void execFileSync('mount', ['-o', `remount,size=${to}`, path]),
    cleanup: () => {
      execFileSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/**
 * Fills the file system holding `dir` with a file of zeros (`<dir>/filler`) until a write fails with ENOSPC,
 * as another program would, then gives `leaveBytes` back. `free()` removes the file.
 */
export function fillDisk(dir: string, leaveBytes = 0): { free: () => void } {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  let size = 0;
  try {
    for (let piece = block.length; piece >= 512;) {
      try {
        size += writeSync(fd, block, 0, piece);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        piece /= 2;
      }
    }
    if (leaveBytes > 0) ftruncateSync(fd, Math.max(0, size - leaveBytes));
  } finally {
    closeSync(fd);
  }
  return { free: () => rmSync(path, { force: true }) };
}

let mountable: boolean | undefined;

/**
 * Whether this machine can mount a tmpfs, for `describe.runIf(canMountTmpfs())`: where it cannot, the file's disk-full
 * tests are noted for the run's summary with why (skipped, CI included, since root comes from no registry).
 */
export function canMountTmpfs(): boolean {
  mountable ??= (() => {
    try {
      mountSmallTmpfs('64k').cleanup();
      return true;
    } catch {
      return false;
    }
  })();
  return peerHere(mountable, TMPFS_NEEDED, { required: false });
}

const TMPFS_NEEDED =
  'mounting a small tmpfs needs root (CAP_SYS_ADMIN), which these disk-full tests use to fill a real file system: run ' +
  'them as root, as CI does (`sudo npx vitest run FILE`), or in a container given CAP_SYS_ADMIN';
