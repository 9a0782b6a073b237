import { createHash, randomUUID } from 'node:crypto';
import type { CreateNetworkInterfaceCommandInput, NetworkInterface, Tag } from '@aws-sdk/client-ec2';
import type { Ec2Port } from '../aws/ec2-port';
import type { SsmPort } from '../aws/ssm-port';
import { errorCode, isIdempotentMismatch, isThrottling } from '../errors';
import { logger } from '../logger';
import { count } from '../metrics';
import { ENI_DESCRIPTION_PREFIX, TAG } from '../tags';
import { type Action, stepOf, type Target } from './plan';

/** What happened to one action. */
export interface ActionResult {
  action: Action;
  result: 'done' | 'failed' | 'skipped';
  /** AWS error code (or message) when it failed; why when it was skipped. */
  error?: string | undefined;
  /** The allocation id an `allocate` produced, the command id of a `sync-guest`. */
  id?: string | undefined;
  cause?: unknown;
}

/** What execute needs. */
export interface ExecuteDeps {
  ec2: Ec2Port;
  ssm: SsmPort;
  guestDocumentName: string;
  /** Log the plan, write nothing. */
  dryRun: boolean;
  /** Parallel calls within one step (default 4: gentle on the EC2 request-rate buckets). */
  concurrency?: number;
  /**
   * The job this run serves (the SQS message id): ENI ClientTokens derive from it, so a redelivery of the job
   * repeats the same requests and a new job makes new ones. Without it, every run is a new job.
   */
  jobId?: string;
}

/**
 * ClientToken of the ENI a job creates at `deviceIndex` (at most 64 ASCII characters, EC2's limit). EC2 binds a token
 * to one request: its retry returns the first result, even an ENI deleted since, and the token with other parameters
 * fails IdempotentParameterMismatch. So the token names the job, not only the instance and device: a later scale-up
 * is a new request.
 */
export function eniClientToken(instanceId: string, deviceIndex: number, jobId: string): string {
  const job = createHash('sha256').update(jobId).digest('hex').slice(0, 32);
  return `${instanceId}-${deviceIndex}-${job}`.slice(-64);
}

/**
 * Runs `fn` over `items` with at most `limit` in flight. Hand-written because it is ten lines and the Lambda bundle
 * stays free of another dependency.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function bornTags(instanceId: string, assignedIpTag?: string): Tag[] {
  const tags: Tag[] = [
    { Key: TAG.managed, Value: 'true' },
    { Key: TAG.instanceId, Value: instanceId },
  ];
  // Born with the assigned-ip tag (no extra CreateTags call) when its private IP is one we assign.
  // The value names the IP, so the proof survives a disassociation that a killed run did not follow up.
  if (assignedIpTag !== undefined) tags.push({ Key: TAG.assignedIp, Value: assignedIpTag });
  return tags;
}

/** Ids produced by earlier steps that later steps refer to. */
interface Produced {
  newIps: Map<string, string[]>;
  newEnis: Map<number, { eniId: string; ips: string[] }>;
  allocations: Map<string, string>;
  failedAllocations: Set<string>;
  failedDisassociations: Set<string>;
  /**
   * An IP unassign failed (e.g. throttled): the addresses' `assigned-ip` tags are the only proof that their IPs are
   * ours, so no address is released or given back in this run; the rerun unassigns first, then releases.
   */
  failedUnassign: boolean;
}

function resolve(target: Target, produced: Produced): { eniId: string; privateIp: string } | undefined {
  if ('privateIp' in target) return target;
  if ('newEni' in target) {
    const eni = produced.newEnis.get(target.newEni);
    const ip = eni?.ips[target.newIp];
    return eni && ip ? { eniId: eni.eniId, privateIp: ip } : undefined;
  }
  const ip = produced.newIps.get(target.eniId)?.[target.newIp];
  return ip ? { eniId: target.eniId, privateIp: ip } : undefined;
}

async function run(action: Action, instanceId: string, deps: ExecuteDeps, produced: Produced): Promise<ActionResult> {
  const { ec2 } = deps;
  switch (action.kind) {
    case 'disassociate':
      await ec2.disassociateAddress(action.associationId);
      return { action, result: 'done' };
    case 'release':
      if (produced.failedDisassociations.has(action.allocationId)) {
        return { action, result: 'skipped', error: 'disassociate failed' };
      }
      if (produced.failedUnassign) return { action, result: 'skipped', error: 'unassign failed' };
      await ec2.releaseAddress(action.allocationId);
      count('Releases');
      return { action, result: 'done' };
    case 'return-to-pool':
      if (produced.failedDisassociations.has(action.allocationId)) {
        return { action, result: 'skipped', error: 'disassociate failed' };
      }
      if (produced.failedUnassign) return { action, result: 'skipped', error: 'unassign failed' };
      await ec2.deleteTags({
        Resources: [action.allocationId],
        // With a value, DeleteTags removes the tag only if it still names this instance: never another's claim.
        Tags: [{ Key: TAG.instanceId, Value: instanceId }, { Key: TAG.assignedIp }],
      });
      return { action, result: 'done' };
    case 'unassign-private-ip':
      await ec2.unassignPrivateIpAddresses(action.eniId, [action.privateIp]);
      return { action, result: 'done' };
    case 'delete-eni':
      // Detaching is asynchronous; the ENI can be deleted only once it is "available". A leftover is already so.
      if (action.attachmentId !== undefined) {
        await ec2.detachNetworkInterface(action.attachmentId);
        await ec2.waitNetworkInterfaceAvailable(action.eniId);
      }
      await ec2.deleteNetworkInterface(action.eniId);
      return { action, result: 'done' };
    case 'assign-private-ips': {
      const ips = await ec2.assignPrivateIpAddresses({
        NetworkInterfaceId: action.eniId,
        SecondaryPrivateIpAddressCount: action.count,
      });
      produced.newIps.set(action.eniId, ips);
      return { action, result: 'done' };
    }
    case 'create-eni': {
      if (action.reuse) {
        const { eniId, privateIps } = action.reuse;
        const attachmentId = await ec2.attachNetworkInterface({
          NetworkInterfaceId: eniId,
          InstanceId: instanceId,
          DeviceIndex: action.deviceIndex,
        });
        await ec2.setDeleteOnTermination(eniId, attachmentId);
        produced.newEnis.set(action.deviceIndex, { eniId, ips: privateIps });
        return { action, result: 'done', id: eniId };
      }
      const request: CreateNetworkInterfaceCommandInput = {
        SubnetId: action.subnetId,
        Groups: action.securityGroupIds,
        SecondaryPrivateIpAddressCount: action.secondaryCount > 0 ? action.secondaryCount : undefined,
        ClientToken: eniClientToken(instanceId, action.deviceIndex, deps.jobId ?? randomUUID()),
        Description: `${ENI_DESCRIPTION_PREFIX} for ${instanceId} device ${action.deviceIndex}`,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: bornTags(instanceId) }],
      };
      let eni: NetworkInterface;
      try {
        eni = await ec2.createNetworkInterface(request);
      } catch (err) {
        if (!isIdempotentMismatch(err)) throw err;
        // The token is bound to another request (this job planned other parameters on an earlier delivery): this
        // is a new request, so it gets a new token. Whatever the first request created is ours and tagged: a
        // leftover ENI, reused or deleted by a later run.
        const ClientToken = eniClientToken(instanceId, action.deviceIndex, `${deps.jobId ?? ''}/${randomUUID()}`);
        logger.warn('client token refused', { instanceId, deviceIndex: action.deviceIndex, code: errorCode(err) });
        eni = await ec2.createNetworkInterface({ ...request, ClientToken });
      }
      const eniId = eni.NetworkInterfaceId ?? '';
      const attachmentId =
        eni.Attachment?.AttachmentId ??
        (await ec2.attachNetworkInterface({
          NetworkInterfaceId: eniId,
          InstanceId: instanceId,
          DeviceIndex: action.deviceIndex,
        }));
      await ec2.setDeleteOnTermination(eniId, attachmentId);
      const primary = eni.PrivateIpAddress ?? '';
      const secondaries = (eni.PrivateIpAddresses ?? [])
        .filter((p) => !p.Primary && p.PrivateIpAddress)
        .map((p) => p.PrivateIpAddress ?? '');
      produced.newEnis.set(action.deviceIndex, { eniId, ips: [primary, ...secondaries] });
      return { action, result: 'done', id: eniId };
    }
    case 'allocate': {
      let assignedIpTag: string | undefined;
      if (action.ipIsOurs) {
        const where = action.target ? resolve(action.target, produced) : undefined;
        // No private IP to put it on (assigning failed): allocating now would only leave an idle, billed address.
        if (action.target && where === undefined) {
          produced.failedAllocations.add(action.ref);
          return { action, result: 'skipped', error: 'private IP not created' };
        }
        assignedIpTag = where?.privateIp ?? 'true';
      }
      try {
        const { allocationId } = await ec2.allocateAddress({
          Domain: 'vpc',
          TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: bornTags(instanceId, assignedIpTag) }],
        });
        produced.allocations.set(action.ref, allocationId);
        count('Allocations');
        return { action, result: 'done', id: allocationId };
      } catch (err) {
        produced.failedAllocations.add(action.ref);
        throw err;
      }
    }
    case 'take-from-pool':
      // The instance-id tag reserves the address before it is associated, so a crash in between is found again
      // by the next reconcile of this instance.
      await ec2.createTags({
        Resources: [action.allocationId],
        Tags: [{ Key: TAG.instanceId, Value: instanceId }],
      });
      return { action, result: 'done' };
    case 'associate': {
      const allocationId =
        'allocationId' in action.allocation
          ? action.allocation.allocationId
          : produced.allocations.get(action.allocation.ref);
      if (allocationId === undefined) {
        // The private IP assigned for it would stay without an EIP, and nothing would name it as ours later.
        if (action.ipIsOurs) await undoAssignedIp(action.target, produced, ec2);
        return { action, result: 'skipped', error: 'allocation failed' };
      }
      const where = resolve(action.target, produced);
      if (where === undefined) {
        await undoAcquisition(action, allocationId, instanceId, ec2);
        return { action, result: 'skipped', error: 'private IP not created' };
      }
      try {
        await ec2.associateAddress({
          AllocationId: allocationId,
          NetworkInterfaceId: where.eniId,
          PrivateIpAddress: where.privateIp,
          AllowReassociation: false,
        });
      } catch (err) {
        // Throttled: keep the address (born tagged ours, naming its IP) for the rerun that follows at once, which
        // associates it like any unassociated address of ours, instead of spending two more writes on a release
        // and a new allocation while the buckets are empty. Any other failure gives it back now.
        if (isThrottling(err)) logger.warn('acquisition kept', { allocationId, reason: 'associate-throttled' });
        else await undoAcquisition(action, allocationId, instanceId, ec2);
        throw err;
      }
      // New allocations are born with the right assigned-ip tag; an existing address gets it set or removed to match.
      if ('allocationId' in action.allocation) {
        if (action.ipIsOurs && action.assignedIpTag !== where.privateIp) {
          await ec2.createTags({ Resources: [allocationId], Tags: [{ Key: TAG.assignedIp, Value: where.privateIp }] });
        } else if (!action.ipIsOurs && action.assignedIpTag !== undefined) {
          await ec2.deleteTags({ Resources: [allocationId], Tags: [{ Key: TAG.assignedIp }] });
        }
      }
      count('Associations');
      return { action, result: 'done', id: allocationId };
    }
    case 'sync-guest': {
      const commandId = await deps.ssm.sendGuestCommand(instanceId, deps.guestDocumentName, action.reason);
      return { action, result: 'done', id: commandId };
    }
    case 'write-status':
      await ec2.createTags({ Resources: [instanceId], Tags: [{ Key: TAG.status, Value: action.value }] });
      return { action, result: 'done' };
    case 'noop':
      return { action, result: 'done' };
  }
}

/**
 * Unassigns a private IP this run assigned for an address that could not be allocated (e.g. AddressLimitExceeded).
 * Best effort: a failure is logged, and the IP is then re-used by the next run.
 */
async function undoAssignedIp(target: Target, produced: Produced, ec2: Ec2Port) {
  const where = resolve(target, produced);
  // The primary IP of an ENI we created goes with the ENI (deleted by the next run if it stays unused).
  if (where === undefined || ('newEni' in target && target.newIp === 0)) return;
  try {
    await ec2.unassignPrivateIpAddresses(where.eniId, [where.privateIp]);
    logger.warn('assignment undone', { eniId: where.eniId, privateIp: where.privateIp, reason: 'allocate-failed' });
  } catch (err) {
    logger.error('assignment undo failed', {
      eniId: where.eniId,
      privateIp: where.privateIp,
      reason: 'allocate-failed',
      code: errorCode(err),
    });
  }
}

/**
 * An address we could not associate must not stay allocated and idle (it costs money every hour): an owned one is
 * released, a pool one goes back to the pool. Best effort; the next reconcile finds whatever is left.
 */
async function undoAcquisition(
  action: Extract<Action, { kind: 'associate' }>,
  allocationId: string,
  instanceId: string,
  ec2: Ec2Port,
) {
  try {
    if (action.fromPool) {
      // Two instances can race for one pool address; the loser must not remove the winner's claim.
      await ec2.deleteTags({ Resources: [allocationId], Tags: [{ Key: TAG.instanceId, Value: instanceId }] });
    } else {
      await ec2.releaseAddress(allocationId);
      count('Releases');
    }
    logger.warn('acquisition undone', { allocationId, fromPool: action.fromPool, reason: 'associate-failed' });
  } catch (err) {
    logger.error('acquisition undo failed', { allocationId, reason: 'associate-failed', code: errorCode(err) });
  }
}

function describe(action: Action): Record<string, unknown> {
  const { kind, reason, ...rest } = action;
  return { kind, reason, ...rest };
}

/**
 * Executes a plan step by step (the order of {@link stepOf}); the actions of one step run in parallel with a small
 * bound. A failed action does not stop the others: dependent ones are skipped, and an address that could not be
 * associated is given back at once. Logs one line per action with kind, reason and ids.
 */
export async function executePlan(
  instanceId: string,
  actions: readonly Action[],
  deps: ExecuteDeps,
): Promise<ActionResult[]> {
  if (deps.dryRun) {
    for (const action of actions) logger.info('action planned (dry run)', { instanceId, ...describe(action) });
    return actions.map((action) => ({ action, result: 'skipped', error: 'dry run' }));
  }
  const produced: Produced = {
    newIps: new Map(),
    newEnis: new Map(),
    allocations: new Map(),
    failedAllocations: new Set(),
    failedDisassociations: new Set(),
    failedUnassign: false,
  };
  const outcomes: ActionResult[] = [];
  const steps = [...new Set(actions.map((a) => stepOf(a.kind)))].sort((a, b) => a - b);
  for (const step of steps) {
    const batch = actions.filter((a) => stepOf(a.kind) === step);
    const results = await mapLimit(batch, deps.concurrency ?? 4, async (action): Promise<ActionResult> => {
      try {
        const outcome = await run(action, instanceId, deps, produced);
        const log = outcome.result === 'done' ? 'action executed' : 'action skipped';
        logger.info(log, { instanceId, ...describe(action), id: outcome.id, why: outcome.error });
        return outcome;
      } catch (err) {
        if (action.kind === 'disassociate') produced.failedDisassociations.add(action.allocationId);
        if (action.kind === 'unassign-private-ip') produced.failedUnassign = true;
        count('Errors');
        const code = errorCode(err) ?? String(err);
        logger.warn('action failed', { instanceId, ...describe(action), code, error: (err as Error)?.message });
        return { action, result: 'failed', error: code, cause: err };
      }
    });
    outcomes.push(...results);
  }
  return outcomes;
}
