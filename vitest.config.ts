import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { PeerSkipSummary } from './test/peers/skip-summary.ts';
import { WorkerEndSummary } from './test/worker-watch-main.ts';

/**
 * Test files that run each in a fresh module graph (vitest's default isolation). The others share one per
 * worker (`isolate: false`): importing the daemon's modules (DuckDB, onnxruntime, tsx's transforms) took
 * about half of the suite's time when every file paid for it again. These stay isolated because they share
 * process-wide state that a file before them could leave behind:
 * - MCAP's chunk decompressors, loaded once per process: the load adds process error listeners that rethrow
 *   (wasm-bz2), and a damaged lz4 chunk breaks @foxglove/wasm-lz4's one context for good. Tests read MCAP
 *   through the daemon's decompressHandlers() (daemon/bags/decompress.ts), which copes with both, never
 *   through @mcap/support's loadDecompressHandlers. Two files look at the process itself: decompress.test.ts
 *   checks what the first load leaves behind (in a shared worker an earlier file has loaded them already),
 *   and chunk-compression.test.ts decodes with wasm-lz4 directly (an earlier file's damaged chunk breaks it);
 * - the wall clock: nowNs (daemon/util/time.ts) re-reads Date.now once a second, so a file that steps a
 *   faked Date.now leaves the stamps of the next second off by the step (the files that fake it are listed);
 * - a mocked built-in module: a module an earlier file imported keeps the real one.
 * Such a file says so on its first line, `// isolated: <why>`, and isolatedFiles() finds it.
 */
const ISOLATED = isolatedFiles();
const EXCLUDE = ['node_modules/**', 'scratch/**'];

/** The test files whose first line is `// isolated: <why>`, relative to the repository's root. */
function isolatedFiles(dir = '.'): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = dir === '.' ? entry.name : join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['node_modules', 'scratch', 'dist', '.git'].includes(entry.name)) found.push(...isolatedFiles(path));
    } else if (entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').startsWith('// isolated: ')) {
      found.push(path);
    }
  }
  return found;
}

export default defineConfig({
  // the workspace's packages by name (auraison-edge/..., @auraison-edge/central) to this checkout's sources
  resolve: { tsconfigPaths: true },
  test: {
    globalSetup: ['test/global-setup.ts'],
    // each worker notes its files, stop signals and exit code (vitest says only "Worker exited unexpectedly")
    setupFiles: ['test/worker-watch.ts'],
    // after vitest's summary, the tests skipped for want of a peer and the command that installs each (outside CI)
    // and the workers that died (a signal, a nonzero exit), with their last files, where CI's tail keeps them
    reporters: ['default', new PeerSkipSummary(), new WorkerEndSummary()],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: tests that spawn the daemon or a broker must not all run at once.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'isolated', include: ISOLATED, exclude: EXCLUDE } },
      {
        extends: true,
        test: { name: 'shared', include: ['**/*.test.ts'], exclude: [...EXCLUDE, ...ISOLATED], isolate: false },
      },
    ],
  },
});
