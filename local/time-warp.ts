/**
 * A faster clock for the whole process: `Date.now()`, `new Date()` and the delays of `setTimeout`/`setInterval` run
 * `factor` times faster than real time, so everything in the process (the region's clock and rate buckets, the SQS
 * visibility timeouts, Lambda's async retries, the SDK's backoff, the reconciler's rate limiter and its pauses) keeps
 * its proportions while a 1,000-instance burst that takes ~17 minutes of AWS time runs in under two. CPU time is
 * scaled too: a millisecond of real work counts as `factor` milliseconds, so a measured time is, if anything, longer
 * than it would be on a real clock. Only for benchmarks and tests: call `restore()` when done.
 */
export interface TimeWarp {
  readonly factor: number;
  /** Puts the real clock and timers back. */
  restore(): void;
}

let active: TimeWarp | undefined;

/** Starts the warp (one at a time per process). */
export function warpTime(factor: number): TimeWarp {
  if (active) throw new Error('time is already warped in this process');
  if (!(factor >= 1)) throw new RangeError(`factor must be ≥ 1, got ${factor}`);
  const RealDate = Date;
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  const origin = RealDate.now();
  const now = () => Math.floor(origin + (RealDate.now() - origin) * factor);
  class WarpDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now());
      else super(...(args as [string]));
    }
    static override now(): number {
      return now();
    }
  }
  globalThis.Date = WarpDate as DateConstructor;
  const scale = (ms: unknown) => Math.max(0, Number(ms ?? 0) / factor);
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
    realSetTimeout(fn, scale(ms), ...rest)) as typeof setTimeout;
  globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
    realSetInterval(fn, scale(ms), ...rest)) as typeof setInterval;
  const warp: TimeWarp = {
    factor,
    restore() {
      globalThis.Date = RealDate;
      globalThis.setTimeout = realSetTimeout;
      globalThis.setInterval = realSetInterval;
      active = undefined;
    },
  };
  active = warp;
  return warp;
}
