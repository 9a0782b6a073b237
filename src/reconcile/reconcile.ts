import { randomUUID } from 'node:crypto';
import type { Ec2Port } from '../aws/ec2-port';
import type { SsmPort } from '../aws/ssm-port';
import type { Config } from '../config';
import { logger } from '../logger';
import { TAG } from '../tags';
import { desiredFromTags } from './desired';
import { executePlan, type ActionResult } from './execute';
import { type ActualState, observe, observeLeftoverEnis } from './observe';
import { type Action, type PlanContext, type PlanResult, planInstance, type TypeLimits } from './plan';
import { guestCommandState, statusAfterRun } from './status';

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
  /**
   * Stop after DescribeInstances when the instance carries neither the count tag nor our status tag: event jobs,
   * since every instance of the Region changes state and the event carries no tags. Not for the sweep's jobs (it
   * found addresses of ours for the instance) nor the CLI.
   */
  skipUntagged?: boolean;
}

/**
 * The options of the reconcile a queued job asks for: its ClientTokens derive from the message id, and event jobs
 * (which may name any instance of the Region) stop after DescribeInstances for an instance that is not ours; the
 * sweep's jobs name instances it found addresses of ours for, so they always read them.
 */
export function jobOptions(job: { reason: string }, messageId: string): ReconcileOptions {
  return { jobId: messageId, skipUntagged: !job.reason.startsWith('sweep:') };
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
  /** Each executed action and how it went, in execution order. */
  results: ActionResult[];
  /** Set when the job should be retried later (SQS redelivery); the reason. */
  retryLater: string | undefined;
}

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
  // With several network cards, MaximumNetworkInterfaces is the instance total; each card has its own limit, and every
  // ENI we add goes on card 0.
  const card0 = net.NetworkCards?.find((c) => (c.NetworkCardIndex ?? 0) === 0)?.MaximumNetworkInterfaces;
  const limits: TypeLimits = {
    instanceType,
    maxEnis: card0 ?? net.MaximumNetworkInterfaces,
    ipv4PerEni: net.Ipv4AddressesPerInterface,
    networkCards: net.MaximumNetworkCards ?? 1,
  };
  typeCache.set(instanceType, limits);
  return limits;
}

/**
 * Observes one instance and plans it, reading the instance-type limits and the EIP quota only when the plan needs
 * them. No writes.
 */
export async function observeAndPlan(
  instanceId: string,
  deps: Pick<ReconcileDeps, 'ec2' | 'ssm' | 'config'>,
  options: Pick<ReconcileOptions, 'skipUntagged'> = {},
): Promise<{ actual: ActualState; plan: PlanResult }> {
  const actual = await observe(instanceId, deps.ec2, {
    skipUntagged: options.skipUntagged,
    countTagKey: deps.config.countTagKey,
  });
  if (actual.managed === false) {
    return { actual, plan: { actions: [{ kind: 'noop', reason: 'not-managed' }], missing: [], placed: 0, wanted: 0 } };
  }
  const desired = desiredFromTags(actual.tags, deps.config);
  const ctx: PlanContext = { countTagKey: deps.config.countTagKey };
  let plan = planInstance(desired, actual, ctx);
  // At most three extra reads: each pass supplies what the previous one asked for.
  for (let pass = 0; pass < 3 && plan.missing.length > 0; pass++) {
    if (plan.missing.includes('quota')) ctx.quota = await eipQuota(deps.ec2);
    if (plan.missing.includes('limits')) ctx.limits = await typeLimits(actual.instanceType ?? '', deps.ec2);
    if (plan.missing.includes('guest-command')) {
      const invocation = await deps.ssm.latestGuestInvocation(instanceId, deps.config.guestDocumentName);
      actual.guestCommand = guestCommandState(invocation);
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

/**
 * Reconciles one instance: observe → desired → plan → execute → status. Level-based: it reads the world, not
 * the event, so duplicates and reordering are harmless.
 */
export async function reconcileInstance(
  instanceId: string,
  deps: ReconcileDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileOutcome> {
  const { actual, plan } = await observeAndPlan(instanceId, deps, options);
  const guestEnabled = options.guest ?? true;
  const planned = plan.actions.filter((a) => a.kind !== 'write-status' && (guestEnabled || a.kind !== 'sync-guest'));
  const current = actual.tags[TAG.status];
  const run = { current, guest: guestEnabled, dryRun: deps.config.dryRun, exists: actual.exists };

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
  let { status, placed, retryLater } = statusAfterRun(plan, outcomes, run);

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
  await writeStatus(status);

  if (guestActions.length > 0) {
    outcomes.push(...(await executePlan(instanceId, guestActions, exec)));
    // A second status write, only when the command could not be sent: it never ran, so no event will correct it.
    if (outcomes.some((o) => o.action.kind === 'sync-guest' && o.result === 'failed')) {
      ({ status, placed, retryLater } = statusAfterRun(plan, outcomes, run));
      await writeStatus(status);
    }
  }
  const failed = outcomes.filter((o) => o.result === 'failed' && o.action.kind !== 'write-status');
  const outcome: ReconcileOutcome = {
    instanceId,
    state: actual.state,
    placed,
    wanted: plan.wanted,
    status,
    results: outcomes,
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
