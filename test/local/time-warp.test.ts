import { afterEach, describe, expect, it } from 'vitest';
import { type TimeWarp, warpTime } from '#local/time-warp';

let warp: TimeWarp | undefined;
afterEach(() => {
  warp?.restore();
  warp = undefined;
});

describe('Function: warpTime', () => {
  it('runs Date and timers faster by the factor, and restores them', async () => {
    const RealDate = Date;
    const realStart = RealDate.now();
    warp = warpTime(50);
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const realElapsed = RealDate.now() - realStart;
    const warpedElapsed = Date.now() - start;
    // 1,000 warped ms are 20 real ms. Timers run on a monotonic clock and Date on the wall clock, each truncated to
    // a millisecond: the timer can fire when Date shows 19 real ms, one real ms (50 warped) short, never more.
    expect(warpedElapsed).toBeGreaterThanOrEqual(1_000 - 50);
    expect(realElapsed).toBeLessThan(1_000);
    // biome-ignore lint/complexity/useDateNow: the constructor without arguments is what is checked here
    expect(new Date().getTime()).toBeGreaterThanOrEqual(start);
    expect(new Date(0).getTime()).toBe(0);
    expect(() => warpTime(2)).toThrow('already warped');
    warp.restore();
    warp = undefined;
    expect(Date).toBe(RealDate);
  });
});
