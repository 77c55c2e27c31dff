import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Where the checkout and its fixtures are, and scratch folders: what a test of one module beside its source may
// use. The CLI runners are in cli.ts; importing them makes a test one that lives under test/ (docs/testing.md).

/** The repository's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/**
 * A fresh temporary directory, removed by the returned cleanup function. The removal walks the tree again when a file
 * appears in a directory it emptied (ENOTEMPTY: a closed part's last write landing as it goes).
 */
export function tempDir(prefix = 'auraison-edge-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true, maxRetries: 5 }) };
}
