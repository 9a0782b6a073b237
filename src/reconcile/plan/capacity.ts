import type { ActualState } from '../observe';
import type { Action, PlanContext } from './actions';
import type { Holdings, Kept } from './holdings';
import type { Placement } from './sources';

/** Where `count` addresses go, and what must be added (secondary IPs, ENIs) to have that many places. */
export interface Capacity {
  /** assign-private-ips and create-eni, when the free private IPs are not enough. */
  actions: Action[];
  /** Free private IPs first (contract order), then the new ones. */
  targets: Placement[];
  /** Leftover ENIs of ours that a create-eni attaches again. */
  reused: Set<string>;
  /**
   * Free secondary IPs that an unassociated address of ours names in its assigned-ip tag: we assigned them, and a run
   * died between disassociating that address and unassigning the IP. They stay ours: tagged when reused, unassigned
   * when not (cleanup).
   */
  ourFreeIps: Set<string>;
}

/**
 * Phase 4 (pure): targets for `count` addresses. The free private IPs come first; beyond them, secondary IPs on the
 * existing ENIs up to the type's per-ENI limit, then new ENIs (a leftover ENI of ours is attached again rather than
 * created anew). Asks for the type's limits (`missing`) only when new IPs are needed; `error` when `wanted` cannot
 * fit the instance type.
 */
export function capacity(
  actual: ActualState,
  h: Holdings,
  kept: Kept,
  count: number,
  wanted: number,
  ctx: PlanContext,
): Capacity | { missing: 'limits' } | { error: string } {
  const actions: Action[] = [];
  const freeSlots = kept.freeSlots;
  const newIps = Math.max(0, count - freeSlots.length);
  const reused = new Set<string>();
  const ourFreeIps = new Set(
    h.held
      .filter((a) => !a.associationId && a.assignedIpTag?.ip !== undefined)
      .map((a) => a.assignedIpTag?.ip ?? '')
      .filter((ip) => freeSlots.some((s) => s.privateIp === ip && !s.primary)),
  );
  const targets: Placement[] = freeSlots
    .slice(0, count)
    .map((s) => ({ target: { eniId: s.eni.eniId, privateIp: s.privateIp }, ipIsOurs: ourFreeIps.has(s.privateIp) }));
  if (newIps > 0) {
    const limits = ctx.limits;
    if (limits === undefined) return { missing: 'limits' };
    // Every ENI we add goes on network card 0 (AttachNetworkInterface's default), so card 0's own limit is what
    // counts; on a type with several cards the status says so.
    const capacity = limits.maxEnis * limits.ipv4PerEni;
    if (wanted + h.foreign.size > capacity) {
      const others = h.foreign.size > 0 ? `, ${h.foreign.size} used by other EIPs` : '';
      const card = (limits.networkCards ?? 1) > 1 ? ' on network card 0' : '';
      return {
        error:
          `${ctx.countTagKey} ${wanted} exceeds ${limits.instanceType} capacity ${capacity}${card} ` +
          `(${limits.maxEnis} ENIs x ${limits.ipv4PerEni} IPv4${others})`,
      };
    }
    const card0 = actual.enis.filter((e) => e.networkCardIndex === 0);
    let remaining = newIps;
    for (const eni of card0) {
      // An EFA-only or trunk interface (no IPv4 for us) takes no secondary IP.
      if (eni.privateIps.length === 0) continue;
      const room = limits.ipv4PerEni - eni.privateIps.length;
      if (remaining === 0 || room <= 0) continue;
      const n = Math.min(room, remaining);
      actions.push({ kind: 'assign-private-ips', eniId: eni.eniId, count: n, reason: 'need-more-addresses' });
      for (let k = 0; k < n; k++) targets.push({ target: { eniId: eni.eniId, newIp: k }, ipIsOurs: true });
      remaining -= n;
    }
    const used = new Set(card0.map((e) => e.deviceIndex));
    // A leftover ENI is attached again rather than deleted and created anew: it already sits in the right subnet
    // with our tags, and costs no CreateNetworkInterface.
    const reusable = [...(actual.leftoverEnis ?? [])];
    for (let device = 1; remaining > 0 && device < limits.maxEnis; device++) {
      if (used.has(device)) continue;
      const reuse = reusable.shift();
      // A reused ENI brings its own IPs: as many targets as it has (up to the need), the next run adds the rest.
      const n = Math.min(
        limits.ipv4PerEni,
        remaining,
        reuse ? Math.max(1, reuse.privateIps.length) : limits.ipv4PerEni,
      );
      if (reuse) reused.add(reuse.eniId);
      actions.push({
        ...(reuse ? { reuse } : {}),
        kind: 'create-eni',
        deviceIndex: device,
        subnetId: actual.subnetId ?? '',
        securityGroupIds: actual.securityGroupIds,
        secondaryCount: n - 1,
        reason: 'existing-enis-full',
      });
      // The new ENI's primary IP is ours too, but it goes with the ENI, so it is not marked as assigned.
      for (let k = 0; k < n; k++) targets.push({ target: { newEni: device, newIp: k }, ipIsOurs: k > 0 });
      remaining -= n;
      // A reused ENI with fewer IPs than needed: the next run assigns the rest on it (now attached) rather than
      // creating another ENI for them.
      if (reuse) break;
    }
  }
  return { actions, targets, reused, ourFreeIps };
}
