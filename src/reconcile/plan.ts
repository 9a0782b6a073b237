/**
 * The planner (pure: no SDK, no env, no clock), in named phases, one file each under ./plan/:
 *
 * 1. lifecycle: the instance's state and tags decide how many addresses it should have, or that it waits;
 * 2. holdings: which addresses are ours and where; keep the first `wanted`, remove the rest;
 * 3. sources: where the missing ones come from (spare, pool, new within the quota);
 * 4. capacity: which private IPs they go to, adding secondary IPs and ENIs within the type's limits;
 * 5. cleanup: undo what we added that no longer carries an EIP;
 * 6. status: the status tag and whether the guest document is sent.
 *
 * Each phase returns actions (the Action union in ./plan/actions.ts is the contract with execute) or asks for a
 * read it needs (`missing`). Existing associations stay where they are (each remap can be charged); new addresses go
 * to free private IPs in contract order (primary IP, primary ENI secondaries, extra ENIs), and scale-down removes
 * from the end of that order.
 */
import type { DesiredState } from './desired';
import type { ActualState } from './observe';
import { finish, type PlanContext, type PlanResult } from './plan/actions';
import { capacity } from './plan/capacity';
import { cleanup, cleanupGone } from './plan/cleanup';
import { holdings, keepAndRemove } from './plan/holdings';
import { lifecycle } from './plan/lifecycle';
import { placeSources, sources } from './plan/sources';
import { statusActions, statusPhase } from './plan/status-phase';
import { Status } from './status';

export {
  type Action,
  CLOUD_KINDS,
  DEFAULT_EIP_QUOTA,
  type PlanContext,
  type PlanResult,
  type RemoveReason,
  stepOf,
  type Target,
  type TypeLimits,
} from './plan/actions';

/** Plans one instance: the six phases in order. */
export function planInstance(desired: DesiredState, actual: ActualState, ctx: PlanContext): PlanResult {
  const h = holdings(actual);
  const lc = lifecycle(desired, actual);
  const placedNow = h.placed.length;
  if (lc.kind === 'gone') return finish(cleanupGone(actual, h.held), 0, 0);
  if (lc.kind === 'hold') return finish([{ kind: 'noop', reason: lc.reason }], placedNow, placedNow);
  if (lc.kind === 'invalid') return finish(statusActions(actual, Status.error(lc.error)), placedNow, placedNow);

  const { wanted, removeReason, running } = lc;
  const kept = keepAndRemove(h, wanted, removeReason);
  const src = sources(desired, actual, h, kept, ctx, running ? 'unassociated-leftover' : removeReason);
  if ('missing' in src) return finish([], kept.keep.length, wanted, [src.missing]);
  const cap = capacity(actual, h, kept, src.count, wanted, ctx);
  if ('missing' in cap) return finish([], kept.keep.length, wanted, [cap.missing]);
  if ('error' in cap) return finish(statusActions(actual, Status.error(cap.error)), kept.keep.length, wanted);
  const placement = placeSources(src, cap.targets);
  const actions = [
    ...kept.actions,
    ...src.actions,
    ...cap.actions,
    ...placement.actions,
    // Nothing is undone on a terminating instance: EC2 deletes its ENIs and their IPs with it.
    ...cleanup(actual, h, kept, cap, placement.used, removeReason !== 'instance-terminated'),
  ];
  const end = statusPhase(actual, lc, {
    actions,
    placed: kept.keep.length + placement.used,
    wanted,
    shortReason: src.shortReason,
    pool: src.pool,
  });
  return finish(end.actions, end.placed, end.wanted, end.missing);
}
