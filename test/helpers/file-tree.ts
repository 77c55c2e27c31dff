import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './paths.ts';

/**
 * A temporary folder holding `files` (relative path to text), for code that reads a tree laid out as an install or a
 * package is; `cleanups` gets what removes it.
 */
export function fileTree(files: Record<string, string>, cleanups: (() => void)[]): string {
  const dir = tempDir('file-tree-');
  cleanups.push(dir.cleanup);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir.path, path)), { recursive: true });
    writeFileSync(join(dir.path, path), text);
  }
  return dir.path;
}
