import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A copy of this node in `dir` (made once), which any user can run. A child run as another user needs it: vitest
 * forks its workers with its own node's path, and this node may lie under a home that user cannot enter (/root is
 * 0700; setpriv still reaches it, holding root's capabilities until exec).
 */
export function nodeAnyUserCanRun(dir: string): string {
  const node = join(dir, 'node');
  if (!existsSync(node)) copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  return node;
}
