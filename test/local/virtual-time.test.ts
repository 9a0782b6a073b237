import { afterEach, describe, expect, it } from 'vitest';
import { startVirtualTime, type VirtualTime } from '#local/virtual-time';

let vt: VirtualTime | undefined;
afterEach(() => {
  vt?.restore();
  vt = undefined;
});

describe('Function: startVirtualTime', () => {
  it('jumps to the next timer when the process is quiet: an hour of timers in real milliseconds', async () => {
    const RealDate = Date;
    const realStart = RealDate.now();
    vt = startVirtualTime(1_000_000);
    const seen: [string, number][] = [];
    let ticks = 0;
    const interval = setInterval(() => {
      ticks += 1;
    }, 60_000);
    setTimeout(() => seen.push(['b', Date.now()]), 3_600_000);
    setTimeout(() => seen.push(['a', Date.now()]), 1_000);
    const cancelled = setTimeout(() => seen.push(['never', Date.now()]), 2_000);
    clearTimeout(cancelled);
    await new Promise((resolve) => setTimeout(resolve, 3_600_000));
    clearInterval(interval);
    expect(seen).toEqual([
      ['a', 1_001_000],
      ['b', 4_600_000],
    ]);
    expect(ticks).toBe(60);
    expect(Date.now()).toBe(4_600_000);
    // biome-ignore lint/complexity/useDateNow: the constructor without arguments is what is checked here
    expect(new Date().getTime()).toBe(4_600_000);
    expect(structuredClone(new Date(0))).toBeInstanceOf(Date);
    expect(RealDate.now() - realStart).toBeLessThan(3_600_000);
    expect(() => startVirtualTime()).toThrow('already running');
    vt.restore();
    vt = undefined;
    expect(Date).toBe(RealDate);
  });

  it('stands still while the process computes', async () => {
    vt = startVirtualTime(0);
    const before = Date.now();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    expect(x).toBeGreaterThan(0);
    expect(Date.now()).toBe(before);
  });
});
