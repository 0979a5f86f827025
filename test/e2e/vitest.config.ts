import { defineConfig } from 'vitest/config';

// End-to-end tests: the real app in browser mode, driven by Debian Chromium. Run with `node test/e2e/run.mjs`.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
