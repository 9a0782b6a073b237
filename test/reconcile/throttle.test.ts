import { describe, expect, it } from 'vitest';
import { RegionError } from '#local/region/model/errors';
import { THROTTLE_CAP_MS, throttleRetryDelayMs, wasThrottled } from '#src/reconcile/throttle';
import type { ReconcileOutcome } from '#src/reconcile/reconcile';

const outcome = (cause?: Error): ReconcileOutcome => ({
  instanceId: 'i-1',
  state: 'running',
  placed: 0,
  wanted: 1,
  status: undefined,
  retryLater: cause ? 'allocate failed' : undefined,
  results: cause
    ? [{ action: { kind: 'allocate', ref: 'new-0', reason: 'address-without-eip' } as never, result: 'failed', cause }]
    : [],
});

describe('Function: wasThrottled', () => {
  it.each([
    ['a throttled read that threw', undefined, new RegionError('RequestLimitExceeded', 'x', 503), true],
    ['another error that threw', undefined, new RegionError('InternalError', 'x', 500), false],
    ['a throttled action', outcome(new RegionError('RequestLimitExceeded', 'x', 503)), undefined, true],
    ['a throttled SendCommand', outcome(new RegionError('ThrottlingException', 'x')), undefined, true],
    ['an action that failed otherwise', outcome(new RegionError('AddressLimitExceeded', 'x')), undefined, false],
    ['a clean run', outcome(), undefined, false],
  ])('%s → %s', (_, out, thrown, expected) => {
    expect(wasThrottled(out, thrown)).toBe(expected);
  });
});

describe('Function: throttleRetryDelayMs', () => {
  it.each([
    [1, 0, 500],
    [1, 1, 1_000],
    [3, 1, 4_000],
    [10, 1, THROTTLE_CAP_MS],
    [10, 0, 500],
  ])('attempt %i with random %d → %i ms', (attempt, random, ms) => {
    expect(throttleRetryDelayMs(attempt, () => random)).toBe(ms);
  });
});
