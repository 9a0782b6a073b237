import { MAX_TAG_VALUE, TAG } from '../tags';
import type { DesiredState } from './desired';
import type { ActualState, AddressView, EniView } from './observe';

/** Default "EC2-VPC Elastic IPs" quota per Region (L-0263D0A3). */
export const DEFAULT_EIP_QUOTA = 5;

/** Network limits of an instance type (DescribeInstanceTypes → NetworkInfo). */
export interface TypeLimits {
  instanceType: string;
  maxEnis: number;
  /** Includes the ENI's primary private IP. */
  ipv4PerEni: number;
}

/** Optional inputs the planner asks for only when the plan needs them (each costs one read). */
export interface PlanContext {
  limits?: TypeLimits | undefined;
  /** `vpc-max-elastic-ips` of the account. */
  quota?: number | undefined;
  /** Display name of the count tag, for status messages. */
  countTagKey: string;
}

/** Where an address goes: an existing or a new private IP, on an existing or a new ENI. */
export type Target =
  | { eniId: string; privateIp: string }
  | { eniId: string; newIp: number }
  | { newEni: number; newIp: number };

/** Why an address is removed. */
export type RemoveReason =
  | 'above-desired-count'
  | 'instance-terminated'
  | 'instance-stopped'
  | 'instance-gone'
  | 'unassociated-leftover'
  | 'invalid-tags';

/** One step of a plan. Every action says why. */
export type Action =
  | {
      kind: 'disassociate';
      allocationId: string;
      associationId: string;
      publicIp: string;
      reason: RemoveReason | 'associated-elsewhere';
    }
  | { kind: 'release'; allocationId: string; publicIp: string; reason: RemoveReason }
  | { kind: 'return-to-pool'; allocationId: string; publicIp: string; pool: string; reason: RemoveReason }
  | { kind: 'unassign-private-ip'; eniId: string; privateIp: string; reason: 'address-removed' }
  | { kind: 'delete-eni'; eniId: string; attachmentId: string | undefined; reason: 'eni-unused' | 'eni-not-attached' }
  | { kind: 'assign-private-ips'; eniId: string; count: number; reason: 'need-more-addresses' }
  | {
      kind: 'create-eni';
      deviceIndex: number;
      subnetId: string;
      securityGroupIds: string[];
      secondaryCount: number;
      /** Attach this unattached ENI of ours (left by a killed run) instead of creating one; its IPs come with it. */
      reuse?: { eniId: string; privateIps: string[] };
      reason: 'existing-enis-full';
    }
  | {
      kind: 'allocate';
      ref: string;
      assignedIp: boolean;
      /** Where it goes when that IP is one we assign: the address is born with that IP in its assigned-ip tag. */
      target?: Target;
      reason: 'address-without-eip';
    }
  | { kind: 'take-from-pool'; allocationId: string; pool: string; assignedIp: boolean; reason: 'address-without-eip' }
  | {
      kind: 'associate';
      allocation: { allocationId: string } | { ref: string };
      target: Target;
      assignedIp: boolean;
      /** A pool address goes back to the pool (untagged) if it cannot be associated; others are released. */
      fromPool: boolean;
      /**
       * The assigned-ip tag an existing address carries now (a spare from a killed run): execute rewrites it to the
       * target IP, or removes it when the address lands on an IP we did not assign, so we never unassign an IP that
       * is not provably ours.
       */
      marker?: string;
      reason: 'address-without-eip';
    }
  | { kind: 'sync-guest'; reason: 'cloud-changed' | 'guest-not-confirmed' }
  | { kind: 'write-status'; value: string; reason: 'status-changed' }
  | {
      kind: 'noop';
      reason: 'in-sync' | 'instance-pending' | 'instance-stopped-keep' | 'nothing-to-do' | 'guest-command-in-flight';
    };

/** The plan plus what the planner could not decide without more input. */
export interface PlanResult {
  actions: Action[];
  /** Reads needed before the plan is final; empty when `actions` is the plan. */
  missing: ('limits' | 'quota' | 'guest-command')[];
  /** Addresses that will be in place if every action succeeds, and how many were asked for. */
  placed: number;
  wanted: number;
}

/** Kinds that change the cloud (everything except status, guest and no-op). */
export const CLOUD_KINDS: ReadonlySet<Action['kind']> = new Set([
  'disassociate',
  'release',
  'return-to-pool',
  'unassign-private-ip',
  'delete-eni',
  'assign-private-ips',
  'create-eni',
  'allocate',
  'take-from-pool',
  'associate',
]);

/** Trims a status to the 256-char tag limit. */
export function statusValue(value: string): string {
  return value.length <= MAX_TAG_VALUE ? value : `${value.slice(0, MAX_TAG_VALUE - 3)}...`;
}

interface Slot {
  eni: EniView;
  privateIp: string;
  primary: boolean;
  index: number;
}

function isHeld(a: AddressView, actual: ActualState, ourEnis: Set<string>): boolean {
  if (a.managed && a.instanceTag === actual.instanceId) return true;
  if (a.pool === undefined) return false;
  // A pool address is ours while it sits on our ENIs, or while our claim is on it and nobody associated it. One we
  // claimed that is now associated elsewhere was taken by someone else: never pull it back.
  if (a.eniId !== undefined && ourEnis.has(a.eniId)) return true;
  return a.instanceTag === actual.instanceId && !a.associationId;
}

function removal(a: AddressView, reason: RemoveReason): Action[] {
  const out: Action[] = [];
  if (a.associationId) {
    out.push({
      kind: 'disassociate',
      allocationId: a.allocationId,
      associationId: a.associationId,
      publicIp: a.publicIp,
      reason,
    });
  }
  out.push(
    a.pool !== undefined && !a.managed
      ? { kind: 'return-to-pool', allocationId: a.allocationId, publicIp: a.publicIp, pool: a.pool, reason }
      : { kind: 'release', allocationId: a.allocationId, publicIp: a.publicIp, reason },
  );
  return out;
}

/** Orders actions by the step they run in (execute runs one step at a time). */
const STEP: Record<Action['kind'], number> = {
  disassociate: 0,
  // The private IP goes before its address: the address's assigned-ip tag is our only proof that the IP is ours,
  // so a run killed in between leaves a marked spare address (reused or released next time), never an orphan IP.
  'unassign-private-ip': 1,
  release: 2,
  'return-to-pool': 2,
  'delete-eni': 2,
  'assign-private-ips': 3,
  'create-eni': 3,
  allocate: 4,
  'take-from-pool': 4,
  associate: 5,
  // The status goes before the guest document: its invocation can end before SendCommand returns.
  'write-status': 6,
  'sync-guest': 7,
  noop: 8,
};

/** The execution step of an action kind (actions of one step are independent of each other). */
export function stepOf(kind: Action['kind']): number {
  return STEP[kind];
}

function finish(actions: Action[], placed: number, wanted: number, missing: PlanResult['missing'] = []): PlanResult {
  const sorted = actions.map((a, i) => ({ a, i })).sort((x, y) => STEP[x.a.kind] - STEP[y.a.kind] || x.i - y.i);
  const list = sorted.map((x) => x.a);
  return { actions: list.length > 0 ? list : [{ kind: 'noop', reason: 'nothing-to-do' }], missing, placed, wanted };
}

function statusActions(actual: ActualState, value: string | undefined): Action[] {
  if (value === undefined) return [];
  const v = statusValue(value);
  return actual.tags[TAG.status] === v ? [] : [{ kind: 'write-status', value: v, reason: 'status-changed' }];
}

/**
 * Our ENIs for this instance that sit unattached (a run died between create and attach, or between detach and
 * delete) and that no create-eni of this plan re-uses: nothing uses them, so they go.
 */
function leftoverEniActions(actual: ActualState, reused: ReadonlySet<string> = new Set()): Action[] {
  return (actual.leftoverEnis ?? [])
    .filter((e) => !reused.has(e.eniId))
    .map((e) => ({ kind: 'delete-eni', eniId: e.eniId, attachmentId: undefined, reason: 'eni-not-attached' }));
}

/**
 * Plans one instance (pure: no SDK, no env, no clock). Existing associations that sit on this instance stay where
 * they are (each remap can be charged); new addresses go to free private IPs in contract order (primary IP, primary
 * ENI secondaries, extra ENIs), and scale-down removes from the end of that order.
 */
export function planInstance(desired: DesiredState, actual: ActualState, ctx: PlanContext): PlanResult {
  const id = actual.instanceId;
  const ourEnis = new Set(actual.enis.map((e) => e.eniId));
  const held = actual.addresses
    .filter((a) => isHeld(a, actual, ourEnis))
    .sort((a, b) => a.allocationId.localeCompare(b.allocationId));

  if (!actual.exists) {
    // Gone from EC2 (terminated more than ~1 h ago). Only unassociated addresses are touched: an associated one
    // was moved by someone else and is theirs to decide about.
    const actions = [
      ...held.filter((a) => !a.associationId).flatMap((a) => removal(a, 'instance-gone')),
      ...leftoverEniActions(actual),
    ];
    return finish(actions, 0, 0);
  }

  const slots: Slot[] = actual.enis.flatMap((eni) =>
    eni.privateIps.map((privateIp, n) => ({ eni, privateIp, primary: n === 0, index: 0 })),
  );
  slots.forEach((s, i) => {
    s.index = i;
  });
  const slotKey = (eniId: string, ip: string) => `${eniId}/${ip}`;
  const slotByKey = new Map(slots.map((s) => [slotKey(s.eni.eniId, s.privateIp), s]));
  const placed = held
    .filter((a) => a.eniId && a.privateIp && slotByKey.has(slotKey(a.eniId, a.privateIp)))
    .sort(
      (a, b) =>
        (slotByKey.get(slotKey(a.eniId ?? '', a.privateIp ?? ''))?.index ?? 0) -
        (slotByKey.get(slotKey(b.eniId ?? '', b.privateIp ?? ''))?.index ?? 0),
    );
  const placedSet = new Set(placed);
  const elsewhere = held.filter((a) => a.associationId && !placedSet.has(a));
  const foreign = new Set<string>();
  for (const a of actual.addresses) {
    if (!held.includes(a) && a.eniId && a.privateIp && slotByKey.has(slotKey(a.eniId, a.privateIp))) {
      foreign.add(slotKey(a.eniId, a.privateIp));
    }
  }
  for (const eni of actual.enis) for (const ip of eni.otherPublicIps) foreign.add(slotKey(eni.eniId, ip));

  const state = actual.state ?? 'unknown';
  const actions: Action[] = [];
  let target: number;
  let removeReason: RemoveReason;
  let running = false;
  if (state === 'terminated' || state === 'shutting-down') {
    target = 0;
    removeReason = 'instance-terminated';
  } else if (state === 'stopping' || state === 'stopped') {
    if (!desired.valid || desired.onStop === 'keep')
      return finish([{ kind: 'noop', reason: 'instance-stopped-keep' }], placed.length, placed.length);
    target = 0;
    removeReason = 'instance-stopped';
  } else if (state !== 'running') {
    // pending: associating fails until the instance runs; the running state-change event brings us back.
    return finish([{ kind: 'noop', reason: 'instance-pending' }], placed.length, placed.length);
  } else if (!desired.valid) {
    return finish(statusActions(actual, `error: ${desired.error}`), placed.length, placed.length);
  } else {
    target = desired.count;
    removeReason = 'above-desired-count';
    running = true;
  }
  const wanted = target;

  // Addresses of ours associated somewhere that is not this instance: take them back.
  for (const a of elsewhere) {
    actions.push({
      kind: 'disassociate',
      allocationId: a.allocationId,
      associationId: a.associationId ?? '',
      publicIp: a.publicIp,
      reason: 'associated-elsewhere',
    });
  }
  const spare = [...held.filter((a) => !a.associationId), ...elsewhere];

  // Scale down from the end of the contract order.
  const keep = placed.slice(0, target);
  const surplus = placed.slice(target);
  const undoIps = removeReason !== 'instance-terminated';
  for (const a of surplus) {
    actions.push(...removal(a, removeReason));
  }
  const need = Math.max(0, target - keep.length);

  // Free slots: no EIP of ours kept there and no foreign EIP.
  const keptKeys = new Set(keep.map((a) => slotKey(a.eniId ?? '', a.privateIp ?? '')));
  const freeSlots = slots.filter(
    (s) => !keptKeys.has(slotKey(s.eni.eniId, s.privateIp)) && !foreign.has(slotKey(s.eni.eniId, s.privateIp)),
  );

  // Sources, cheapest first: our spare addresses, then the pool, then new allocations within the quota.
  const useSpare = spare.slice(0, need);
  const spareReason: RemoveReason = running ? 'unassociated-leftover' : removeReason;
  for (const a of spare.slice(need)) actions.push(...removal({ ...a, associationId: undefined }, spareReason));
  let poolFree: AddressView[] = [];
  let allocatable = 0;
  let shortReason = '';
  const pool = desired.valid ? desired.pool : undefined;
  const stillNeed = need - useSpare.length;
  if (stillNeed > 0) {
    if (pool !== undefined) {
      poolFree = actual.addresses
        .filter(
          (a) =>
            a.pool === pool &&
            !a.associationId &&
            (a.instanceTag === undefined || a.instanceTag === id) &&
            !held.includes(a),
        )
        .sort((a, b) => a.allocationId.localeCompare(b.allocationId))
        .slice(0, stillNeed);
      if (poolFree.length < stillNeed) shortReason = `pool "${pool}" has no free address`;
    } else {
      // Below the default quota (5, the floor AWS grants every account) the quota read is skipped; should an
      // account have less anyway, AddressLimitExceeded is handled like a race with another writer.
      const fitsDefault = actual.addresses.length + stillNeed <= DEFAULT_EIP_QUOTA;
      if (ctx.quota === undefined && !fitsDefault) return finish([], keep.length, wanted, ['quota']);
      const quota = ctx.quota ?? DEFAULT_EIP_QUOTA;
      allocatable = Math.min(stillNeed, Math.max(0, quota - actual.addresses.length));
      if (allocatable < stillNeed) shortReason = 'AddressLimitExceeded';
    }
  }
  const sources = useSpare.length + poolFree.length + allocatable;

  // Capacity: only needed when the free private IPs are not enough.
  const newIps = Math.max(0, sources - freeSlots.length);
  const reused = new Set<string>();
  // Free secondary IPs that an unassociated address of ours names in its assigned-ip tag: we assigned them, and a
  // run died between disassociating that address and unassigning the IP. They stay ours: marked when reused,
  // unassigned when not.
  const ourFreeIps = new Set(
    held
      .filter((a) => !a.associationId && a.assignedIpAt !== undefined)
      .map((a) => a.assignedIpAt ?? '')
      .filter((ip) => freeSlots.some((s) => s.privateIp === ip && !s.primary)),
  );
  const targets: { target: Target; assignedIp: boolean }[] = freeSlots
    .slice(0, sources)
    .map((s) => ({ target: { eniId: s.eni.eniId, privateIp: s.privateIp }, assignedIp: ourFreeIps.has(s.privateIp) }));
  if (newIps > 0) {
    const limits = ctx.limits;
    if (limits === undefined) return finish([], keep.length, wanted, ['limits']);
    const capacity = limits.maxEnis * limits.ipv4PerEni;
    if (target + foreign.size > capacity) {
      const others = foreign.size > 0 ? `, ${foreign.size} used by other EIPs` : '';
      return finish(
        statusActions(
          actual,
          `error: ${ctx.countTagKey} ${target} exceeds ${limits.instanceType} capacity ${capacity} ` +
            `(${limits.maxEnis} ENIs x ${limits.ipv4PerEni} IPv4${others})`,
        ),
        keep.length,
        wanted,
      );
    }
    let remaining = newIps;
    for (const eni of actual.enis) {
      const room = limits.ipv4PerEni - eni.privateIps.length;
      if (remaining === 0 || room <= 0) continue;
      const n = Math.min(room, remaining);
      actions.push({ kind: 'assign-private-ips', eniId: eni.eniId, count: n, reason: 'need-more-addresses' });
      for (let k = 0; k < n; k++) targets.push({ target: { eniId: eni.eniId, newIp: k }, assignedIp: true });
      remaining -= n;
    }
    const used = new Set(actual.enis.map((e) => e.deviceIndex));
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
      for (let k = 0; k < n; k++) targets.push({ target: { newEni: device, newIp: k }, assignedIp: k > 0 });
      remaining -= n;
      // A reused ENI with fewer IPs than needed: the next run assigns the rest on it (now attached) rather than
      // creating another ENI for them.
      if (reuse) break;
    }
  }

  let t = 0;
  for (const a of useSpare) {
    const slot = targets[t++];
    if (slot)
      actions.push({
        kind: 'associate',
        allocation: { allocationId: a.allocationId },
        target: slot.target,
        assignedIp: slot.assignedIp,
        fromPool: a.pool !== undefined && !a.managed,
        ...(a.assignedIpTag !== undefined ? { marker: a.assignedIpTag } : {}),
        reason: 'address-without-eip',
      });
  }
  for (const a of poolFree) {
    const slot = targets[t++];
    if (!slot) continue;
    actions.push({
      kind: 'take-from-pool',
      allocationId: a.allocationId,
      pool: a.pool ?? '',
      assignedIp: slot.assignedIp,
      reason: 'address-without-eip',
    });
    actions.push({
      kind: 'associate',
      allocation: { allocationId: a.allocationId },
      target: slot.target,
      assignedIp: slot.assignedIp,
      fromPool: true,
      ...(a.assignedIpTag !== undefined ? { marker: a.assignedIpTag } : {}),
      reason: 'address-without-eip',
    });
  }
  for (let k = 0; k < allocatable; k++) {
    const slot = targets[t++];
    if (!slot) continue;
    const ref = `new-${k}`;
    actions.push({
      kind: 'allocate',
      ref,
      assignedIp: slot.assignedIp,
      ...(slot.assignedIp ? { target: slot.target } : {}),
      reason: 'address-without-eip',
    });
    actions.push({
      kind: 'associate',
      allocation: { ref },
      target: slot.target,
      assignedIp: slot.assignedIp,
      fromPool: false,
      reason: 'address-without-eip',
    });
  }
  const placedAfter = keep.length + t;

  // Undo what we added that no longer carries an EIP: secondary IPs we assigned, ENIs we created.
  if (undoIps) {
    const busyEnis = new Set<string>([
      ...keep.map((a) => a.eniId ?? ''),
      ...targets.slice(0, t).flatMap((x) => ('eniId' in x.target ? [x.target.eniId] : [])),
    ]);
    for (const k of foreign) busyEnis.add(k.split('/')[0] ?? '');
    const deleted = new Set<string>();
    for (const eni of actual.enis) {
      if (eni.managed && eni.deviceIndex > 0 && eni.attachmentId && !busyEnis.has(eni.eniId)) {
        actions.push({ kind: 'delete-eni', eniId: eni.eniId, attachmentId: eni.attachmentId, reason: 'eni-unused' });
        deleted.add(eni.eniId);
      }
    }
    for (const a of surplus) {
      const slot = slotByKey.get(slotKey(a.eniId ?? '', a.privateIp ?? ''));
      if (slot && a.assignedIp && !slot.primary && !deleted.has(slot.eni.eniId)) {
        actions.push({
          kind: 'unassign-private-ip',
          eniId: slot.eni.eniId,
          privateIp: slot.privateIp,
          reason: 'address-removed',
        });
      }
    }
    const reusedIps = new Set(
      targets.slice(0, t).flatMap((x) => ('privateIp' in x.target ? [x.target.privateIp] : [])),
    );
    for (const s of freeSlots) {
      if (ourFreeIps.has(s.privateIp) && !reusedIps.has(s.privateIp) && !deleted.has(s.eni.eniId)) {
        actions.push({
          kind: 'unassign-private-ip',
          eniId: s.eni.eniId,
          privateIp: s.privateIp,
          reason: 'address-removed',
        });
      }
    }
  }

  actions.push(...leftoverEniActions(actual, reused));
  const cloudChanges = actions.some((a) => CLOUD_KINDS.has(a.kind));
  if (!running) {
    const value =
      removeReason === 'instance-stopped' && (cloudChanges || actual.tags[TAG.status] !== undefined)
        ? `stopped: addresses released (on-stop release)`
        : undefined;
    return finish([...actions, ...statusActions(actual, value)], placedAfter, wanted);
  }
  const ok = `ok ${placedAfter}/${wanted}`;
  const current = actual.tags[TAG.status];
  if (!cloudChanges && wanted === 0 && placedAfter === 0 && (current === undefined || current === ok)) {
    return finish(actions, 0, 0);
  }
  if (shortReason !== '' && placedAfter === 0 && pool !== undefined) {
    return finish([...actions, ...statusActions(actual, `error: ${shortReason}`)], placedAfter, wanted);
  }
  const syncing = `syncing ${placedAfter}/${wanted}`;
  // `syncing` means a guest command was sent after the last cloud change (the status is written just before
  // SendCommand). Before sending another, ask where it stands: duplicate jobs then send nothing while it runs, and a
  // lost invocation-status event (best effort) is healed here instead of by a re-send.
  const awaitingGuest = !cloudChanges && shortReason === '' && current === syncing;
  if (awaitingGuest && actual.guestCommand === undefined)
    return finish(actions, placedAfter, wanted, ['guest-command']);
  if (awaitingGuest && actual.guestCommand === 'in-flight') {
    return finish([...actions, { kind: 'noop', reason: 'guest-command-in-flight' }], placedAfter, wanted);
  }
  const confirmed = current === ok || (awaitingGuest && actual.guestCommand === 'succeeded');
  const guest = cloudChanges || !confirmed;
  const status = shortReason !== '' ? `degraded ${placedAfter}/${wanted}: ${shortReason}` : guest ? syncing : ok;
  if (guest) actions.push({ kind: 'sync-guest', reason: cloudChanges ? 'cloud-changed' : 'guest-not-confirmed' });
  actions.push(...statusActions(actual, status));
  if (actions.length === 0) actions.push({ kind: 'noop', reason: 'in-sync' });
  return finish(actions, placedAfter, wanted);
}
