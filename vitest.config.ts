import { defineConfig } from 'vitest/config';

/**
 * Projects. `unit` runs its files in parallel and without per-file isolation (`npm run test:unit`, the fast loop;
 * `unit-isolated` holds the few that patch process globals). The others run one file at a time, each group after the
 * previous one (`sequence.groupOrder`), because their files share something:
 * - `stack` packages the stack into `.serverless/` (once per run, the first file does it);
 * - `lab` builds network namespaces (kernel state, slow to build);
 * - `e2e` runs a whole local deployment (the handlers read their configuration once per process) with labs.
 * `npm test` runs them all.
 */
const STACK = [
  'test/stack/**/*.test.ts',
  'test/scripts/iam-table.test.ts',
  'test/local/stack/source.test.ts',
  'test/local/region/iam/evaluator.test.ts',
];
const LAB = ['test/guest/**/*.test.ts', 'test/local/lab/**/*.test.ts'];
const E2E = ['test/e2e/**/*.test.ts', 'test/local/deployment.test.ts'];
/** The booted-guest matrix has its own config (vitest.booted.config.ts, `npm run test:booted`). */
const BOOTED = ['test/guest/booted/**'];
/** Unit tests that patch process globals (Date, timers): they keep the per-file isolation. */
const GLOBALS = ['test/local/virtual-time.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: {
      // The handlers' structured logs are for operators; in test output they bury the failures. Override to debug.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      // EMF metric lines (one JSON object per flush) are for CloudWatch, not for test output.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      // The SDK warns on Node 20 about its future Node 22 floor; dev machines run Node 20, Lambda Node 24 (README).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...STACK, ...LAB, ...E2E, ...GLOBALS, ...BOOTED],
          // Files share a worker's module cache: importing the SDK once per worker, not once per file, is most of
          // the speed-up. Unit tests keep no module state between files (caches are cleared, mocks restored).
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'unit-isolated', include: GLOBALS },
      },
      {
        extends: true,
        test: { name: 'stack', include: STACK, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'lab', include: LAB, exclude: BOOTED, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
      {
        extends: true,
        test: { name: 'e2e', include: E2E, fileParallelism: false, sequence: { groupOrder: 3 } },
      },
    ],
  },
});
