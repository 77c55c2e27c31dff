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
 * A new test file that does either belongs in this list.
 */
const ISOLATED = [
  // MCAP's decompressors as the process has them
  'daemon/bags/decompress.test.ts',
  'daemon/recorder/chunk-compression.test.ts',
  // the wall clock faked
  'daemon/util/time.test.ts',
  'daemon/util/ids.test.ts',
  'daemon/journal/journal-retention.test.ts',
  'daemon/policy/cmd-vel-gate.test.ts',
  'test/foundation/clock-steps*.test.ts',
  'test/system1/loop-clock-faults.test.ts',
  // node:child_process mocked, to see what crosses a loop process's fork channel
  'test/system1/loop-process-channel.test.ts',
];
const EXCLUDE = ['node_modules/**', 'scratch/**'];

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
