import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The booted-guest matrix has its own config (vitest.booted.config.ts): parallel stacks, longer timeouts.
    exclude: ['test/guest/booted/**', 'node_modules/**'],
    // Network-namespace labs are slow to build and share kernel state: never run test files in parallel.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: {
      // The handlers' structured logs are for operators; in test output they bury the failures. Override to debug.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      // The SDK warns on Node 20 about its future Node 22 floor; dev machines run Node 20, Lambda Node 24 (README).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
