import { describe, expect, it } from 'vitest';
import { statusAfterGuest } from '#src/reconcile/guest-status';

describe('Function: statusAfterGuest', () => {
  it.each([
    ['syncing 3/3', 'Success', 'ok 3/3'],
    ['guest failed: Failed (2/2)', 'Success', 'ok 2/2'],
    ['syncing 3/3', 'Failed', 'guest failed: Failed (3/3)'],
    ['syncing 1/1', 'TimedOut', 'guest failed: TimedOut (1/1)'],
    ['syncing 1/1', 'InProgress', undefined],
    ['degraded 2/3: AddressLimitExceeded', 'Success', undefined],
    ['error: eip-count "x" is not a whole number', 'Failed', undefined],
    [undefined, 'Success', undefined],
  ])('%j + %s → %j', (current, status, after) => {
    expect(statusAfterGuest(current, status)).toBe(after);
  });
});
