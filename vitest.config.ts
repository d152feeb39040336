import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // dist/ rebuilt when stale, once, before any test (some run the built package in a child).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: two workers. Unhandled errors fail the run (vitest's default, kept on purpose).
    maxWorkers: 2,
    // Memory tests collect garbage before sampling, so they measure what is live, not GC lag.
    execArgv: ['--expose-gc'],
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
