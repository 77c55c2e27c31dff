import { defineConfig } from 'vitest/config';

/**
 * Test files that run each in a fresh module graph (vitest's default isolation). The others share one per
 * worker (`isolate: false`): importing the daemon's modules (DuckDB, onnxruntime, tsx's transforms) took
 * about half of the suite's time when every file paid for it again. These stay isolated because they share
 * process-wide state that a file before them could leave behind:
 * - MCAP reading and writing (bags, the recorder, the lakehouse's imports): @foxglove/wasm-lz4 keeps one
 *   decompression context per process and never resets it after a damaged chunk, so a test of damaged bags
 *   would fail every later test that reads lz4 through @mcap/support (the daemon works around it; see
 *   daemon/bags/decompress.ts);
 * - the wall clock: nowNs (daemon/contract/time.ts) re-reads Date.now once a second, so a file that steps a
 *   faked Date.now leaves the stamps of the next second off by the step (the files that fake it are listed).
 * A new test file that does either belongs in this list.
 */
const ISOLATED = [
  // MCAP reading and writing
  'daemon/bags/**/*.test.ts',
  'daemon/recorder/**/*.test.ts',
  'daemon/lakehouse/**/*.test.ts',
  'test/bags/**/*.test.ts',
  // the wall clock faked
  'daemon/contract/time.test.ts',
  'daemon/contract/ids.test.ts',
  'daemon/journal/journal-retention.test.ts',
  'daemon/policy/cmd-vel-gate.test.ts',
  'test/foundation/clock-steps*.test.ts',
  'test/system1/loop-clock-faults.test.ts',
];
const EXCLUDE = ['node_modules/**', 'scratch/**'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: tests that spawn the daemon or a broker must not all run at once.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'isolated', include: ISOLATED, exclude: EXCLUDE } },
      { extends: true, test: { name: 'shared', include: ['**/*.test.ts'], exclude: [...EXCLUDE, ...ISOLATED], isolate: false } },
    ],
  },
});
