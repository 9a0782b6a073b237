import type { DesiredState } from '../desired';
import type { ActualState, AddressView } from '../observe';
import { type Action, DEFAULT_EIP_QUOTA, type PlanContext, type RemoveReason, removal, type Target } from './actions';
import type { Holdings, Kept } from './holdings';

/** Where the needed addresses come from. */
export interface Sources {
  /** Spare addresses beyond the need go. */
  actions: Action[];
  /** Spare addresses of ours that are used (first). */
  useSpare: AddressView[];
  /** Free pool addresses that are taken (then). */
  poolFree: AddressView[];
  /** New allocations within the quota (last). */
  allocatable: number;
  /** Why fewer than needed can come ('' when enough): the status names it. */
  shortReason: string;
  /** The pool asked for, if any. */
  pool: string | undefined;
  /** useSpare + poolFree + allocatable. */
  count: number;
}

/**
 * Phase 3 (pure): the sources of the needed addresses, cheapest first: our spare addresses, then the pool, then new
 * allocations within the quota. Asks for the quota (`missing`) only when the default quota might not hold them.
 */
export function sources(
  desired: DesiredState,
  actual: ActualState,
  h: Holdings,
  kept: Kept,
  ctx: PlanContext,
  spareReason: RemoveReason,
): Sources | { missing: 'quota' } {
  const useSpare = kept.spare.slice(0, kept.need);
  const actions = kept.spare.slice(kept.need).flatMap((a) => removal({ ...a, associationId: undefined }, spareReason));
  let poolFree: AddressView[] = [];
  let allocatable = 0;
  let shortReason = '';
  const pool = desired.valid ? desired.pool : undefined;
  const stillNeed = kept.need - useSpare.length;
  if (stillNeed > 0) {
    if (pool !== undefined) {
      poolFree = actual.addresses
        .filter(
          (a) =>
            a.pool === pool &&
            !a.associationId &&
            (a.instanceTag === undefined || a.instanceTag === actual.instanceId) &&
            !h.held.includes(a),
        )
        .sort((a, b) => a.allocationId.localeCompare(b.allocationId))
        .slice(0, stillNeed);
      if (poolFree.length < stillNeed) shortReason = `pool "${pool}" has no free address`;
    } else {
      // Below the default quota (5, the floor AWS grants every account) the quota read is skipped; should an
      // account have less anyway, AddressLimitExceeded is handled like a race with another writer.
      const fitsDefault = actual.addresses.length + stillNeed <= DEFAULT_EIP_QUOTA;
      if (ctx.quota === undefined && !fitsDefault) return { missing: 'quota' };
      const quota = ctx.quota ?? DEFAULT_EIP_QUOTA;
      allocatable = Math.min(stillNeed, Math.max(0, quota - actual.addresses.length));
      if (allocatable < stillNeed) shortReason = 'AddressLimitExceeded';
    }
  }
  const count = useSpare.length + poolFree.length + allocatable;
  return { actions, useSpare, poolFree, allocatable, shortReason, pool, count };
}

/** A private IP an address goes to, and whether it is one we assign (the address then carries assigned-ip). */
export interface Placement {
  target: Target;
  ipIsOurs: boolean;
}

/**
 * Puts the sources on the targets in order (spare, pool, new): the take-from-pool, allocate and associate actions.
 * `used` is how many targets got an address.
 */
export function placeSources(src: Sources, targets: readonly Placement[]): { actions: Action[]; used: number } {
  const actions: Action[] = [];
  let t = 0;
  for (const a of src.useSpare) {
    const slot = targets[t++];
    if (slot)
      actions.push({
        kind: 'associate',
        allocation: { allocationId: a.allocationId },
        target: slot.target,
        ipIsOurs: slot.ipIsOurs,
        fromPool: a.pool !== undefined && !a.managed,
        ...(a.assignedIpTag !== undefined ? { assignedIpTag: a.assignedIpTag.value } : {}),
        reason: 'address-without-eip',
      });
  }
  for (const a of src.poolFree) {
    const slot = targets[t++];
    if (!slot) continue;
    actions.push({
      kind: 'take-from-pool',
      allocationId: a.allocationId,
      pool: a.pool ?? '',
      ipIsOurs: slot.ipIsOurs,
      reason: 'address-without-eip',
    });
    actions.push({
      kind: 'associate',
      allocation: { allocationId: a.allocationId },
      target: slot.target,
      ipIsOurs: slot.ipIsOurs,
      fromPool: true,
      ...(a.assignedIpTag !== undefined ? { assignedIpTag: a.assignedIpTag.value } : {}),
      reason: 'address-without-eip',
    });
  }
  for (let k = 0; k < src.allocatable; k++) {
    const slot = targets[t++];
    if (!slot) continue;
    const ref = `new-${k}`;
    actions.push({
      kind: 'allocate',
      ref,
      ipIsOurs: slot.ipIsOurs,
      ...(slot.ipIsOurs ? { target: slot.target } : {}),
      reason: 'address-without-eip',
    });
    actions.push({
      kind: 'associate',
      allocation: { ref },
      target: slot.target,
      ipIsOurs: slot.ipIsOurs,
      fromPool: false,
      reason: 'address-without-eip',
    });
  }
  return { actions, used: t };
}
