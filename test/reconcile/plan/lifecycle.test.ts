import { describe, expect, it } from 'vitest';
import type { DesiredState } from '#src/reconcile/desired';
import { type Lifecycle, lifecycle } from '#src/reconcile/plan/lifecycle';
import { actual } from '../../helpers/actual';

const want = (count: number, onStop: 'keep' | 'release' = 'keep'): DesiredState => ({
  valid: true,
  count,
  pool: undefined,
  onStop,
});
const invalid: DesiredState = { valid: false, error: 'eip-count "x" is not a whole number' };

describe('Function: lifecycle', () => {
  it.each<[string, boolean, string | undefined, DesiredState, Lifecycle]>([
    ['gone from EC2', false, undefined, want(3), { kind: 'gone' }],
    ['pending', true, 'pending', want(3), { kind: 'hold', reason: 'instance-pending' }],
    ['unknown state', true, undefined, want(3), { kind: 'hold', reason: 'instance-pending' }],
    [
      'running',
      true,
      'running',
      want(3),
      { kind: 'converge', wanted: 3, removeReason: 'above-desired-count', running: true },
    ],
    ['running, invalid tags', true, 'running', invalid, { kind: 'invalid', error: invalid.valid ? '' : invalid.error }],
    ['stopped, keep', true, 'stopped', want(3), { kind: 'hold', reason: 'instance-stopped-keep' }],
    ['stopping, invalid tags', true, 'stopping', invalid, { kind: 'hold', reason: 'instance-stopped-keep' }],
    [
      'stopped, release',
      true,
      'stopped',
      want(3, 'release'),
      { kind: 'converge', wanted: 0, removeReason: 'instance-stopped', running: false },
    ],
    [
      'shutting-down',
      true,
      'shutting-down',
      want(3),
      { kind: 'converge', wanted: 0, removeReason: 'instance-terminated', running: false },
    ],
    [
      'terminated, invalid tags',
      true,
      'terminated',
      invalid,
      { kind: 'converge', wanted: 0, removeReason: 'instance-terminated', running: false },
    ],
  ])('%s', (_name, exists, state, desired, expected) => {
    expect(lifecycle(desired, actual({ exists, state }))).toEqual(expected);
  });
});
