import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real small file system for disk-full tests: a tmpfs of `size` (mount's syntax: `300k`, `4m`) mounted on
 * a fresh directory. Mounting needs root (CI runs as root); `canMountTmpfs` says whether this machine can.
 */
export function mountSmallTmpfs(size: string): { path: string; resize: (size: string) => void; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'auraison-tmpfs-'));
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  return {
    path,
    resize: (to) => void execFileSync('mount', ['-o', `remount,size=${to}`, path]),
    cleanup: () => {
      execFileSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

export const canMountTmpfs: boolean = (() => {
  try {
    mountSmallTmpfs('64k').cleanup();
    return true;
  } catch {
    return false;
  }
})();
