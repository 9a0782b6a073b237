import type { DesiredState } from '../desired';
import type { ActualState } from '../observe';
import type { RemoveReason } from './actions';

/**
 * What the instance's life stage allows: `gone` (not in EC2's answer: only unassociated addresses are touched),
 * `hold` (nothing to do now: pending, or stopped with `eip-on-stop=keep`), `invalid` (the tags are wrong: only the
 * error status), or `converge` towards `wanted` addresses, removing the rest for `removeReason`.
 */
export type Lifecycle =
  | { kind: 'gone' }
  | { kind: 'hold'; reason: 'instance-stopped-keep' | 'instance-pending' }
  | { kind: 'invalid'; error: string }
  | { kind: 'converge'; wanted: number; removeReason: RemoveReason; running: boolean };

/** Phase 1 (pure): the instance's state and tags decide how many addresses it should have, or that it waits. */
export function lifecycle(desired: DesiredState, actual: ActualState): Lifecycle {
  // Gone from EC2 (terminated more than ~1 h ago).
  if (!actual.exists) return { kind: 'gone' };
  const state = actual.state ?? 'unknown';
  if (state === 'terminated' || state === 'shutting-down') {
    return { kind: 'converge', wanted: 0, removeReason: 'instance-terminated', running: false };
  }
  if (state === 'stopping' || state === 'stopped') {
    if (!desired.valid || desired.onStop === 'keep') return { kind: 'hold', reason: 'instance-stopped-keep' };
    return { kind: 'converge', wanted: 0, removeReason: 'instance-stopped', running: false };
  }
  // pending: associating fails until the instance runs; the running state-change event brings us back.
  if (state !== 'running') return { kind: 'hold', reason: 'instance-pending' };
  if (!desired.valid) return { kind: 'invalid', error: desired.error };
  return { kind: 'converge', wanted: desired.count, removeReason: 'above-desired-count', running: true };
}
