/**
 * The planner's contract: the Action union (what execute runs), the plan result, and the helpers every phase shares.
 */
import type { AddressView, EniView } from '../observe';

/** Default "EC2-VPC Elastic IPs" quota per Region (L-0263D0A3). */
export const DEFAULT_EIP_QUOTA = 5;

/** Network limits of an instance type (DescribeInstanceTypes → NetworkInfo). */
export interface TypeLimits {
  instanceType: string;
  /** ENIs on network card 0 (`NetworkCards[0]`), where every ENI we add is attached. */
  maxEnis: number;
  /** Includes the ENI's primary private IP. */
  ipv4PerEni: number;
  /** `MaximumNetworkCards` (default 1): with several, the capacity we use is card 0's, and the status says so. */
  networkCards?: number;
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
      /** The target private IP is one we assign: the address carries the assigned-ip tag. */
      ipIsOurs: boolean;
      /** Where it goes when that IP is one we assign: the address is born with that IP in its assigned-ip tag. */
      target?: Target;
      reason: 'address-without-eip';
    }
  | { kind: 'take-from-pool'; allocationId: string; pool: string; ipIsOurs: boolean; reason: 'address-without-eip' }
  | {
      kind: 'associate';
      allocation: { allocationId: string } | { ref: string };
      target: Target;
      ipIsOurs: boolean;
      /** A pool address goes back to the pool (untagged) if it cannot be associated; others are released. */
      fromPool: boolean;
      /**
       * The assigned-ip tag an existing address carries now (a spare from a killed run): execute rewrites it to the
       * target IP, or removes it when the address lands on an IP we did not assign, so we never unassign an IP that
       * is not provably ours.
       */
      assignedIpTag?: string;
      reason: 'address-without-eip';
    }
  | { kind: 'sync-guest'; reason: 'cloud-changed' | 'guest-not-confirmed' }
  | { kind: 'write-status'; value: string; reason: 'status-changed' }
  | {
      kind: 'noop';
      reason:
        | 'in-sync'
        | 'instance-pending'
        | 'instance-stopped-keep'
        | 'nothing-to-do'
        | 'guest-command-in-flight'
        | 'not-managed';
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

/** One private IP of the instance, in contract order (primary ENI first, primary IP first). */
export interface Slot {
  eni: EniView;
  privateIp: string;
  primary: boolean;
  /** Position in contract order. */
  index: number;
}

/** Key of a private IP on an ENI. */
export const slotKey = (eniId: string, ip: string): string => `${eniId}/${ip}`;

/** The actions that give up one address: disassociate it if associated, then release it or return it to its pool. */
export function removal(a: AddressView, reason: RemoveReason): Action[] {
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

/** The plan: actions in execution-step order (stable), or one no-op when there are none. */
export function finish(
  actions: Action[],
  placed: number,
  wanted: number,
  missing: PlanResult['missing'] = [],
): PlanResult {
  const sorted = actions.map((a, i) => ({ a, i })).sort((x, y) => STEP[x.a.kind] - STEP[y.a.kind] || x.i - y.i);
  const list = sorted.map((x) => x.a);
  return { actions: list.length > 0 ? list : [{ kind: 'noop', reason: 'nothing-to-do' }], missing, placed, wanted };
}
