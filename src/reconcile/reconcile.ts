import { randomUUID } from 'node:crypto';
import type { Ec2Port } from '../aws/ec2-port';
import type { SsmPort } from '../aws/ssm-port';
import type { Config } from '../config';
import { isAgentNotRegistered, isRetryLater } from '../errors';
import { logger } from '../logger';
import { TAG } from '../tags';
import { desiredFromTags } from './desired';
import { executePlan, type Outcome } from './execute';
import { type ActualState, observe, observeLeftoverEnis } from './observe';
import {
  type Action,
  CLOUD_KINDS,
  type PlanContext,
  type PlanResult,
  planInstance,
  statusValue,
  type TypeLimits,
} from './plan';

/** What the reconciler needs; built once per process. */
export interface ReconcileDeps {
  ec2: Ec2Port;
  ssm: SsmPort;
  config: Pick<Config, 'countTagKey' | 'poolTagKey' | 'onStopTagKey' | 'guestDocumentName' | 'dryRun'>;
}

/** Per-call switches (the CLI's `--no-guest`, `plan`). */
export interface ReconcileOptions {
  /** Send the guest document after changes (default true). */
  guest?: boolean;
  /**
   * The job's id (the SQS message id, the same on every redelivery): ENI ClientTokens derive from it. Without it
   * (CLI), the run is a new job.
   */
  jobId?: string;
}

/** Result of one reconcile, used by the handler, the CLI and the tests. */
export interface ReconcileOutcome {
  instanceId: string;
  /** Instance state as observed. */
  state: string | undefined;
  /** Addresses in place after this run, and how many were wanted. */
  placed: number;
  wanted: number;
  /** Status tag value after this run (undefined: no status is kept for this instance). */
  status: string | undefined;
  outcomes: Outcome[];
  /** Set when the job should be retried later (SQS redelivery); the reason. */
  retryLater: string | undefined;
}

/** Status after SendCommand answered InvalidInstanceId (the sweep looks for it). */
export const AGENT_NOT_REGISTERED = 'pending: guest agent not registered yet';

// Instance-type limits never change for a type: cache them for the life of the Lambda container.
const typeCache = new Map<string, TypeLimits>();

// The EIP quota changes only when someone has it raised (Service Quotas): a burst of fresh instances in one container
// reads it once, and a raised quota is seen within QUOTA_TTL_MS. Being wrong is safe either way: AllocateAddress
// enforces the real quota, and AddressLimitExceeded is handled like a race with another writer.
const QUOTA_TTL_MS = 5 * 60_000;
let quotaCache: { value: number; readAt: number } | undefined;

/** Empties the instance-type and quota caches (tests and the bench measure cold containers). */
export function clearCaches(): void {
  typeCache.clear();
  quotaCache = undefined;
}

async function eipQuota(ec2: Ec2Port): Promise<number> {
  const now = Date.now();
  if (quotaCache && now - quotaCache.readAt < QUOTA_TTL_MS) return quotaCache.value;
  const value = await ec2.describeEipQuota();
  quotaCache = { value, readAt: now };
  return value;
}

async function typeLimits(instanceType: string, ec2: Ec2Port): Promise<TypeLimits> {
  const cached = typeCache.get(instanceType);
  if (cached) return cached;
  const info = await ec2.describeInstanceType(instanceType);
  const net = info?.NetworkInfo;
  if (!net?.MaximumNetworkInterfaces || !net.Ipv4AddressesPerInterface) {
    throw new Error(`DescribeInstanceTypes has no network limits for ${instanceType}`);
  }
  const limits = { instanceType, maxEnis: net.MaximumNetworkInterfaces, ipv4PerEni: net.Ipv4AddressesPerInterface };
  typeCache.set(instanceType, limits);
  return limits;
}

/**
 * Observes one instance and plans it, reading the instance-type limits and the EIP quota only when the plan needs
 * them. No writes.
 */
export async function planForInstance(
  instanceId: string,
  deps: Pick<ReconcileDeps, 'ec2' | 'ssm' | 'config'>,
): Promise<{ actual: ActualState; plan: PlanResult }> {
  const actual = await observe(instanceId, deps.ec2);
  const desired = desiredFromTags(actual.tags, deps.config);
  const ctx: PlanContext = { countTagKey: deps.config.countTagKey };
  let plan = planInstance(desired, actual, ctx);
  // At most three extra reads: each pass supplies what the previous one asked for.
  for (let pass = 0; pass < 3 && plan.missing.length > 0; pass++) {
    if (plan.missing.includes('quota')) ctx.quota = await eipQuota(deps.ec2);
    if (plan.missing.includes('limits')) ctx.limits = await typeLimits(actual.instanceType ?? '', deps.ec2);
    if (plan.missing.includes('guest-command')) {
      actual.guestCommand = await deps.ssm.latestGuestCommand(instanceId, deps.config.guestDocumentName);
    }
    plan = planInstance(desired, actual, ctx);
  }
  if (plan.missing.length > 0) throw new Error(`planner still misses ${plan.missing.join(', ')}`);
  if (needsLeftoverEnis(actual, plan)) {
    actual.leftoverEnis = await observeLeftoverEnis(instanceId, deps.ec2);
    if (actual.leftoverEnis.length > 0) plan = planInstance(desired, actual, ctx);
  }
  return { actual, plan };
}

/**
 * Whether unattached ENIs of ours may exist, worth one DescribeNetworkInterfaces. Only a run that touched ENIs and
 * died can leave one, so: when this plan touches ENIs, when the instance is gone or terminating (last chance), or
 * when a previous run left a status and this one has work (it may be the rerun of a killed run). Never in steady
 * state (2 reads + 0 writes) and never on a first run that needs no ENI (fresh N=8 on m5.large stays at 2N+5).
 */
function needsLeftoverEnis(actual: ActualState, plan: PlanResult): boolean {
  if (!actual.exists || actual.state === 'terminated' || actual.state === 'shutting-down') return true;
  if (plan.actions.some((a) => a.kind === 'create-eni' || a.kind === 'delete-eni')) return true;
  const steady = plan.actions.every((a) => a.kind === 'noop');
  return !steady && actual.tags[TAG.status] !== undefined;
}

const ACQUIRE: ReadonlySet<Action['kind']> = new Set([
  'assign-private-ips',
  'create-eni',
  'allocate',
  'take-from-pool',
  'associate',
]);

/**
 * Reconciles one instance: observe → desired → plan → execute → status. Level-based: it reads the world, not
 * the event, so duplicates and reordering are harmless.
 */
export async function reconcileInstance(
  instanceId: string,
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileOutcome> {
  const { actual, plan } = await planForInstance(instanceId, deps);
  const guestEnabled = options.guest ?? true;
  const planned = plan.actions.filter((a) => a.kind !== 'write-status' && (guestEnabled || a.kind !== 'sync-guest'));
  const plannedStatus = plan.actions.find((a) => a.kind === 'write-status');
  const current = actual.tags[TAG.status];
  let status = plannedStatus?.kind === 'write-status' ? plannedStatus.value : current;
  if (!guestEnabled && plan.actions.some((a) => a.kind === 'sync-guest')) {
    status = `cloud ok ${plan.placed}/${plan.wanted}: guest sync skipped`;
  }

  const exec = {
    ec2: deps.ec2,
    ssm: deps.ssm,
    guestDocumentName: deps.config.guestDocumentName,
    dryRun: deps.config.dryRun,
    jobId: options.jobId ?? randomUUID(),
  };
  // The guest document goes last, after the status is written: the agent can finish it (and command-status can
  // read the tag) before SendCommand even returns, so `syncing k/n` must already be there to become `ok k/n`.
  const guestActions = planned.filter((a) => a.kind === 'sync-guest');
  const outcomes = await executePlan(
    instanceId,
    planned.filter((a) => a.kind !== 'sync-guest'),
    exec,
  );
  const failed = outcomes.filter((o) => o.result === 'failed');
  let placed = plan.placed;
  let retryLater: string | undefined;

  // Associations that did not happen lower the count; the first failure's code explains the degradation.
  const missed = outcomes.filter((o) => o.action.kind === 'associate' && o.result !== 'done').length;
  const acquireFailure = failed.find((o) => ACQUIRE.has(o.action.kind));
  if (!deps.config.dryRun && missed > 0) {
    placed -= missed;
    status = `degraded ${placed}/${plan.wanted}: ${acquireFailure?.error ?? 'association skipped'}`;
  }
  const removeFailure = failed.find((o) => CLOUD_KINDS.has(o.action.kind) && !ACQUIRE.has(o.action.kind));
  if (removeFailure) {
    retryLater = `${removeFailure.action.kind} failed: ${removeFailure.error}`;
    status = `degraded ${placed}/${plan.wanted}: ${removeFailure.action.kind} ${removeFailure.error}`;
  } else if (acquireFailure && isRetryLater(acquireFailure.cause)) {
    retryLater = `${acquireFailure.action.kind} failed: ${acquireFailure.error}`;
  }
  // Right after launch DescribeInstances may not show the instance yet (eventual consistency): try again later.
  // A job for an instance that never existed ends in the dead-letter queue after maxReceiveCount attempts.
  if (!actual.exists && planned.every((a) => a.kind === 'noop')) retryLater = 'instance-not-found';

  const canTag = actual.exists && actual.state !== 'terminated';
  let written = current;
  const writeStatus = async (value: string | undefined) => {
    if (value === undefined || value === written || !canTag) return;
    const write: Action = { kind: 'write-status', value, reason: 'status-changed' };
    const [result] = await executePlan(instanceId, [write], exec);
    if (result) outcomes.push(result);
    // A failed write leaves the old value: the guest step below compares against what is really there.
    if (result?.result === 'done' || deps.config.dryRun) written = value;
  };
  if (status !== undefined) status = statusValue(status);
  await writeStatus(status);

  if (guestActions.length > 0) {
    const guestOutcomes = await executePlan(instanceId, guestActions, exec);
    outcomes.push(...guestOutcomes);
    const guestFailure = guestOutcomes.find((o) => o.result === 'failed');
    if (guestFailure) {
      failed.push(guestFailure);
      // A second status write, only on this failure path: the command never ran, so no event will correct it.
      if (isAgentNotRegistered(guestFailure.cause)) {
        // Terminal for this job: retrying would hold the instance's FIFO group (and, across many agentless
        // instances, the queue) for 5 x 12 minutes into the DLQ. The State Manager association runs the document
        // when the agent registers, and the sweep sends a job once SSM shows the agent Online.
        status = AGENT_NOT_REGISTERED;
      } else {
        status = statusValue(`guest failed: SendCommand ${guestFailure.error}`);
        if (isRetryLater(guestFailure.cause)) retryLater = `sync-guest failed: ${guestFailure.error}`;
      }
      await writeStatus(status);
    }
  }
  const outcome: ReconcileOutcome = {
    instanceId,
    state: actual.state,
    placed,
    wanted: plan.wanted,
    status,
    outcomes,
    retryLater,
  };
  logger.info('instance reconciled', {
    instanceId,
    state: actual.state,
    placed,
    wanted: plan.wanted,
    status,
    actions: outcomes.filter((o) => o.action.kind !== 'noop').length,
    failed: failed.length,
    retryLater,
    dryRun: deps.config.dryRun,
  });
  return outcome;
}
