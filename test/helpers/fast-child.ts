import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { ROOT } from './paths.ts';

// tsx's own esbuild (tsx depends on it): the same transform that `node --import tsx` applies.
const { build } = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))(
  'esbuild',
) as typeof import('esbuild');

/**
 * A test child process written in TypeScript (`node --import tsx child.ts`), compiled once into one ESM file
 * that plain `node` runs, for tests that start the same child many times: through tsx's loader hooks every
 * module of a start costs a round trip to the hooks' thread, and the daemon's code loads typebox (~700
 * modules), so a child takes about 2 s to start where the bundle takes under 1 s.
 *
 * The project's own files are bundled; packages stay imports, resolved from the bundle's place under
 * test/.tmp (git-ignored), as from the sources. Not for code that finds files next to itself through
 * import.meta.url (the CLI's commands, the status page, worker threads such as the zstd compressor's): those
 * paths would point into test/.tmp.
 */
export async function bundleChild(
  entry: string,
): Promise<{ args: (...argv: string[]) => string[]; cleanup: () => void }> {
  const tmp = join(ROOT, 'test', '.tmp');
  mkdirSync(tmp, { recursive: true });
  const dir = mkdtempSync(join(tmp, 'child-'));
  const outfile = join(dir, `${basename(entry).replace(/\.ts$/, '')}.mjs`);
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { args: (...argv) => [outfile, ...argv], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
