import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'scratch/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: tests that spawn the daemon or a broker must not all run at once.
    maxWorkers: 2,
  },
});
