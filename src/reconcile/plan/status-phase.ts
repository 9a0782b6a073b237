import { TAG } from '../../tags';
import type { ActualState } from '../observe';
import { Status, statusValue } from '../status';
import { type Action, CLOUD_KINDS, type PlanResult } from './actions';
import type { Lifecycle } from './lifecycle';

/** A write-status action when `value` differs from the tag (none for undefined: no status is kept). */
export function statusActions(actual: ActualState, value: string | undefined): Action[] {
  if (value === undefined) return [];
  const v = statusValue(value);
  return actual.tags[TAG.status] === v ? [] : [{ kind: 'write-status', value: v, reason: 'status-changed' }];
}

/** What the status phase needs from the phases before it. */
export interface StatusInput {
  /** Every action planned so far. */
  actions: Action[];
  /** Addresses in place if every action succeeds. */
  placed: number;
  wanted: number;
  /** Why fewer than wanted can come ('' when enough). */
  shortReason: string;
  pool: string | undefined;
}

/**
 * Phase 6 (pure): the status the plan writes and whether the guest document is sent. `syncing k/n` while a guest
 * command is due, `ok k/n` once one succeeded after the last cloud change, `degraded k/n` when fewer can come, an
 * error when a pool has nothing at all; a stopped instance whose addresses went says so. Asks where the last guest
 * command stands (`missing`) only while the status says `syncing` and the cloud has nothing to change.
 */
export function statusPhase(
  actual: ActualState,
  lc: Extract<Lifecycle, { kind: 'converge' }>,
  input: StatusInput,
): Pick<PlanResult, 'actions' | 'missing' | 'placed' | 'wanted'> {
  const { placed, wanted, shortReason, pool } = input;
  const actions = [...input.actions];
  const done = (list: Action[], missing: PlanResult['missing'] = []) => ({ actions: list, missing, placed, wanted });
  const cloudChanges = actions.some((a) => CLOUD_KINDS.has(a.kind));
  if (!lc.running) {
    const value =
      lc.removeReason === 'instance-stopped' && (cloudChanges || actual.tags[TAG.status] !== undefined)
        ? Status.stoppedReleased()
        : undefined;
    return done([...actions, ...statusActions(actual, value)]);
  }
  const ok = Status.ok(placed, wanted);
  const current = actual.tags[TAG.status];
  // Nothing wanted, nothing there, no status to correct: an instance we never managed stays untouched.
  if (!cloudChanges && wanted === 0 && placed === 0 && (current === undefined || current === ok)) return done(actions);
  if (shortReason !== '' && placed === 0 && pool !== undefined) {
    return done([...actions, ...statusActions(actual, Status.error(shortReason))]);
  }
  const syncing = Status.syncing(placed, wanted);
  // `syncing` means a guest command was sent after the last cloud change (the status is written just before
  // SendCommand). Before sending another, ask where it stands: duplicate jobs then send nothing while it runs, and a
  // lost invocation-status event (best effort) is healed here instead of by a re-send.
  const awaitingGuest = !cloudChanges && shortReason === '' && current === syncing;
  if (awaitingGuest && actual.guestCommand === undefined) return done(actions, ['guest-command']);
  if (awaitingGuest && actual.guestCommand === 'in-flight') {
    return done([...actions, { kind: 'noop', reason: 'guest-command-in-flight' }]);
  }
  const confirmed = current === ok || (awaitingGuest && actual.guestCommand === 'succeeded');
  const guest = cloudChanges || !confirmed;
  const status = shortReason !== '' ? Status.degraded(placed, wanted, shortReason) : guest ? syncing : ok;
  if (guest) actions.push({ kind: 'sync-guest', reason: cloudChanges ? 'cloud-changed' : 'guest-not-confirmed' });
  actions.push(...statusActions(actual, status));
  if (actions.length === 0) actions.push({ kind: 'noop', reason: 'in-sync' });
  return done(actions);
}
