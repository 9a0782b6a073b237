import { describe, expect, it } from 'vitest';
import { AsyncInvoker } from '#local/deployment/async-invoke';
import { manualClock } from '#local/region/model/index';

describe('Class: AsyncInvoker', () => {
  it('retries a failing invocation twice, one and then two minutes later, then records the failure', async () => {
    const clock = manualClock(0);
    const invoker = new AsyncInvoker({ now: clock.now });
    const calls: [number, number][] = [];
    invoker.invoke('intake', async (attempt) => {
      calls.push([attempt, clock.now()]);
      throw new Error('boom');
    });
    await invoker.idle();
    expect(invoker.nextRetryAt()).toBe(60_000);
    clock.advance(59_999);
    invoker.tick();
    await invoker.idle();
    expect(calls).toHaveLength(1);
    clock.advance(1);
    invoker.tick();
    await invoker.idle();
    expect(invoker.nextRetryAt()).toBe(180_000);
    clock.advance(120_000);
    invoker.tick();
    await invoker.idle();
    expect(calls).toEqual([
      [1, 0],
      [2, 60_000],
      [3, 180_000],
    ]);
    expect(invoker.nextRetryAt()).toBeUndefined();
    expect(invoker.failures).toEqual([{ name: 'intake', attempts: 3, error: 'Error: boom' }]);
  });

  it('does not retry a success, and returns to the caller before the function runs', async () => {
    const clock = manualClock(0);
    const invoker = new AsyncInvoker({ now: clock.now });
    const order: string[] = [];
    invoker.invoke('intake', async () => {
      order.push('ran');
    });
    order.push('accepted');
    await invoker.idle();
    expect(order).toEqual(['accepted', 'ran']);
    expect(invoker.nextRetryAt()).toBeUndefined();
    expect(invoker.attempts).toBe(1);
  });

  it('drops an event that would be older than the maximum event age at its retry', async () => {
    const clock = manualClock(0);
    const invoker = new AsyncInvoker({ now: clock.now, maxEventAgeMs: 90_000 });
    invoker.invoke('intake', async () => {
      throw new Error('boom');
    });
    await invoker.idle();
    clock.advance(60_000);
    invoker.tick();
    await invoker.idle();
    expect(invoker.nextRetryAt()).toBeUndefined();
    expect(invoker.failures).toHaveLength(1);
  });
});
