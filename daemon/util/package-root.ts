import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the project's package.json: the checkout, or the installed package. Modules run from their
 * sources (`daemon/...`) or compiled (`dist/daemon/...`), one folder deeper, so files that ship beside the
 * sources (the status page, the sim's model, package.json) are found from here, not by counting `..`.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
