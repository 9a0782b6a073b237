import { defineConfig } from 'vitest/config';

/**
 * The booted-guest matrix (test/guest/booted/): one Debian guest booted with systemd per network stack. Stacks run in
 * parallel (each file has its own lab and guest; names are unique per process); events within a stack run in order.
 */
export default defineConfig({
  test: {
    include: ['test/guest/booted/**/*.test.ts'],
    globalSetup: ['test/guest/booted/global-setup.ts'],
    fileParallelism: true,
    maxWorkers: Number(process.env.EIP_AUTOPILOT_BOOTED_PARALLEL ?? 4),
    // A stack's events include waiting for a DHCP renewal (≤ 60 s) and for the timer (≤ 65 s).
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
