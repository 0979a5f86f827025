import { defineConfig } from 'vitest/config';

// Unit and integration tests (Node side, native engine, media, project store). E2E runs separately (scripts/test.mjs).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
