import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Where files shared between the daemon and its child processes go: memory (tmpfs) first, so they are shared pages,
 * never disk; the system's temporary folder where no tmpfs is ours to write.
 */
export function memoryFolder(): string {
  for (const root of ['/dev/shm', process.env.XDG_RUNTIME_DIR]) {
    if (!root) continue;
    try {
      accessSync(root, constants.W_OK | constants.X_OK);
      return root;
    } catch {
      // Not there, or not ours to write: the next root.
    }
  }
  return tmpdir();
}
