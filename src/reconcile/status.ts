/**
 * The status tag (`eip-autopilot:status`): the one place its values are written, parsed and ranked. README documents
 * the values; every other module builds them with {@link Status} and reads them with {@link parseStatus}.
 *
 * | value                              | written by                         | means                                 |
 * | ---------------------------------- | ---------------------------------- | ------------------------------------- |
 * | `ok k/n`                           | plan, command-status               | cloud and guest in place              |
 * | `syncing k/n`                      | plan                               | cloud done, guest command sent        |
 * | `degraded k/n: <reason>`           | plan, run                          | fewer than n placed, and why          |
 * | `error: <reason>`                  | plan                               | nothing can be done until you act     |
 * | `stopped: addresses released …`    | plan                               | on-stop release ran                   |
 * | `pending: guest agent …`           | run                                | SSM agent not registered yet          |
 * | `guest failed: <why>[ (k/n)]`      | run, command-status                | cloud done, guest command failed      |
 * | `cloud ok k/n: guest sync skipped` | run (`--no-guest`)                 | cloud done, guest deliberately not run|
 */
import { isAgentNotRegistered, isRetryLater } from '../errors';
import { MAX_TAG_VALUE } from '../tags';
import type { ActionResult } from './execute';
import { type Action, CLOUD_KINDS, type PlanResult } from './plan/actions';

/** A status value, parsed. `placed`/`wanted` are the `k/n` counts where the value has them. */
export type ParsedStatus =
  | { kind: 'ok'; placed: number; wanted: number }
  | { kind: 'syncing'; placed: number; wanted: number }
  | { kind: 'degraded'; placed: number; wanted: number; reason: string }
  | { kind: 'error'; reason: string }
  | { kind: 'stopped'; reason: string }
  | { kind: 'pending'; reason: string }
  | { kind: 'guest-failed'; reason: string; placed?: number; wanted?: number }
  | { kind: 'guest-skipped'; placed: number; wanted: number };

/** The kinds of status value. */
export type StatusKind = ParsedStatus['kind'];

/** Trims a status to the 256-character tag-value limit. */
export function statusValue(value: string): string {
  return value.length <= MAX_TAG_VALUE ? value : `${value.slice(0, MAX_TAG_VALUE - 3)}...`;
}

/** Constructors: every status value the system writes comes from one of these (already trimmed to 256). */
export const Status = {
  ok: (placed: number, wanted: number): string => `ok ${placed}/${wanted}`,
  syncing: (placed: number, wanted: number): string => `syncing ${placed}/${wanted}`,
  degraded: (placed: number, wanted: number, reason: string): string =>
    statusValue(`degraded ${placed}/${wanted}: ${reason}`),
  error: (reason: string): string => statusValue(`error: ${reason}`),
  stoppedReleased: (): string => 'stopped: addresses released (on-stop release)',
  agentPending: (): string => 'pending: guest agent not registered yet',
  /** `counts` is the `k/n` of the status it replaces, when that had one. */
  guestFailed: (reason: string, counts?: { placed: number; wanted: number }): string =>
    statusValue(`guest failed: ${reason}${counts ? ` (${counts.placed}/${counts.wanted})` : ''}`),
  guestSkipped: (placed: number, wanted: number): string => `cloud ok ${placed}/${wanted}: guest sync skipped`,
} as const;

const COUNTS = String.raw`(\d+)/(\d+)`;
const PATTERNS: [RegExp, (m: RegExpExecArray) => ParsedStatus][] = [
  [new RegExp(`^ok ${COUNTS}$`), (m) => ({ kind: 'ok', placed: Number(m[1]), wanted: Number(m[2]) })],
  [new RegExp(`^syncing ${COUNTS}$`), (m) => ({ kind: 'syncing', placed: Number(m[1]), wanted: Number(m[2]) })],
  [
    new RegExp(`^degraded ${COUNTS}: (.*)$`, 's'),
    (m) => ({ kind: 'degraded', placed: Number(m[1]), wanted: Number(m[2]), reason: m[3] ?? '' }),
  ],
  [/^error: (.*)$/s, (m) => ({ kind: 'error', reason: m[1] ?? '' })],
  [/^stopped: (.*)$/s, (m) => ({ kind: 'stopped', reason: m[1] ?? '' })],
  [/^pending: (.*)$/s, (m) => ({ kind: 'pending', reason: m[1] ?? '' })],
  [
    new RegExp(`^guest failed: (.*) \\(${COUNTS}\\)$`, 's'),
    (m) => ({ kind: 'guest-failed', reason: m[1] ?? '', placed: Number(m[2]), wanted: Number(m[3]) }),
  ],
  [/^guest failed: (.*)$/s, (m) => ({ kind: 'guest-failed', reason: m[1] ?? '' })],
  [
    new RegExp(`^cloud ok ${COUNTS}: guest sync skipped$`),
    (m) => ({ kind: 'guest-skipped', placed: Number(m[1]), wanted: Number(m[2]) }),
  ],
];

/** Parses a status tag value; undefined for no value or one this version does not know. */
export function parseStatus(value: string | undefined): ParsedStatus | undefined {
  if (value === undefined) return undefined;
  for (const [re, build] of PATTERNS) {
    const m = re.exec(value);
    if (m) return build(m);
  }
  return undefined;
}

/** The `k/n` counts of a status value, when it has them. */
export function statusCounts(value: string | undefined): { placed: number; wanted: number } | undefined {
  const s = parseStatus(value);
  return s && 'placed' in s && s.placed !== undefined && s.wanted !== undefined
    ? { placed: s.placed, wanted: s.wanted }
    : undefined;
}

/**
 * Which of two statuses a run reports when both apply: the one that tells the user more about what is wrong. An
 * error (nothing will change until you act) beats a shortfall (`degraded`), which beats "guest skipped" (a choice,
 * not a fault), which beats the in-progress and healthy values.
 */
const RANK: Record<StatusKind, number> = {
  error: 5,
  degraded: 4,
  'guest-failed': 3,
  pending: 3,
  'guest-skipped': 2,
  stopped: 1,
  syncing: 1,
  ok: 0,
};

/** The status of higher precedence (the first when equal); an unknown value loses to a known one. */
export function strongerStatus(a: string | undefined, b: string | undefined): string | undefined {
  const pa = parseStatus(a);
  const pb = parseStatus(b);
  if (pa === undefined) return pb === undefined ? (a ?? b) : b;
  if (pb === undefined) return a;
  return RANK[pb.kind] > RANK[pa.kind] ? b : a;
}

/**
 * Where the latest guest-document invocation on an instance stands: still running (`in-flight`: Pending, InProgress,
 * Delayed, Cancelling), `succeeded`, `failed` (a final status other than success), or `none` (it never ran there).
 */
export type GuestCommandState = 'in-flight' | 'succeeded' | 'failed' | 'none';

// A command still on its way: `Delayed` is an agent that is registered but unreachable (until TimeoutSeconds);
// `Cancelling` is not final either (SSM is stopping it; it can still end Success, Failed or Cancelled).
const IN_FLIGHT: ReadonlySet<string> = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);

/** SSM invocation statuses that end an invocation without success (the EventBridge event and the API spellings). */
const FAILED: ReadonlySet<string> = new Set([
  'Failed',
  'TimedOut',
  'Cancelled',
  'DeliveryTimedOut',
  'Delivery Timed Out',
  'ExecutionTimedOut',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);

/**
 * Classifies an SSM invocation status (pure). `unknown` is a status SSM may add later: a reconcile treats it as
 * failed (it sends the command again), the command-status function leaves the tag alone.
 */
export function classifyInvocation(status: string | undefined): GuestCommandState | 'unknown' {
  if (status === undefined) return 'none';
  if (IN_FLIGHT.has(status)) return 'in-flight';
  if (status === 'Success') return 'succeeded';
  return FAILED.has(status) ? 'failed' : 'unknown';
}

/** What reconcile needs to know of the newest invocation's status (an unknown status counts as failed). */
export function guestCommandState(status: string | undefined): GuestCommandState {
  const c = classifyInvocation(status);
  return c === 'unknown' ? 'failed' : c;
}

/**
 * The status tag after a guest invocation ends (pure), or undefined when nothing changes: `syncing k/n` becomes
 * `ok k/n` on success; a failure becomes `guest failed: <status> (k/n)`. Non-final statuses change nothing, and
 * a success does not overwrite an error or degraded status that reconcile wrote since.
 */
export function statusAfterGuest(current: string | undefined, invocationStatus: string): string | undefined {
  const parsed = parseStatus(current);
  const counts = statusCounts(current);
  const outcome = classifyInvocation(invocationStatus);
  if (outcome === 'succeeded') {
    if (parsed?.kind === 'syncing' || parsed?.kind === 'guest-failed') {
      return counts ? Status.ok(counts.placed, counts.wanted) : 'ok';
    }
    return undefined;
  }
  if (outcome === 'failed') {
    if (parsed?.kind === 'error') return undefined;
    return Status.guestFailed(invocationStatus, counts);
  }
  return undefined;
}

/** Kinds that add an address to the instance: their failure lowers the count instead of asking for a retry. */
const ACQUIRE: ReadonlySet<Action['kind']> = new Set([
  'assign-private-ips',
  'create-eni',
  'allocate',
  'take-from-pool',
  'associate',
]);

/** What {@link statusAfterRun} needs besides the plan and the results. */
export interface RunContext {
  /** The status tag before this run. */
  current: string | undefined;
  /** Whether the guest document may be sent (the CLI's `--no-guest` sets false). */
  guest: boolean;
  dryRun: boolean;
  /** The instance exists in EC2's answer. */
  exists: boolean;
}

/** The status a run reports, how many addresses are in place, and whether the job should come back later. */
export interface RunStatus {
  status: string | undefined;
  placed: number;
  retryLater: string | undefined;
}

/**
 * The status after executing a plan (pure). Starts from the plan's status (or the current one) and lowers it by what
 * failed: a missed association makes it `degraded k/n` with the first acquire failure's code; a failed removal makes
 * it `degraded` and asks for a retry; a guest command that could not be sent makes it `pending` (agent not
 * registered: no retry, the sweep sends a job once the agent is Online) or `guest failed`. A skipped guest sync
 * (`--no-guest`) reports `cloud ok k/n: guest sync skipped`
 * only where the plan had nothing worse to say: `degraded` and `error` win (see {@link strongerStatus}).
 * `results` may hold the cloud results only (the status written before SendCommand) or the guest ones too.
 */
export function statusAfterRun(plan: PlanResult, results: readonly ActionResult[], run: RunContext): RunStatus {
  const planned = plan.actions.find((a) => a.kind === 'write-status');
  let status = planned?.kind === 'write-status' ? planned.value : run.current;
  if (!run.guest && plan.actions.some((a) => a.kind === 'sync-guest')) {
    status = strongerStatus(status, Status.guestSkipped(plan.placed, plan.wanted));
  }
  let placed = plan.placed;
  let retryLater: string | undefined;
  const failed = results.filter((r) => r.result === 'failed');

  // Associations that did not happen lower the count; the first failure's code explains the degradation.
  const missed = results.filter((r) => r.action.kind === 'associate' && r.result !== 'done').length;
  const acquireFailure = failed.find((r) => ACQUIRE.has(r.action.kind));
  if (!run.dryRun && missed > 0) {
    placed -= missed;
    status = Status.degraded(placed, plan.wanted, acquireFailure?.error ?? 'association skipped');
  }
  const removeFailure = failed.find((r) => CLOUD_KINDS.has(r.action.kind) && !ACQUIRE.has(r.action.kind));
  if (removeFailure) {
    retryLater = `${removeFailure.action.kind} failed: ${removeFailure.error}`;
    status = Status.degraded(placed, plan.wanted, `${removeFailure.action.kind} ${removeFailure.error}`);
  } else if (acquireFailure && isRetryLater(acquireFailure.cause)) {
    retryLater = `${acquireFailure.action.kind} failed: ${acquireFailure.error}`;
  }
  // Right after launch DescribeInstances may not show the instance yet (eventual consistency): try again later.
  // A job for an instance that never existed ends in the dead-letter queue after maxReceiveCount attempts.
  const executable = plan.actions.filter((a) => a.kind !== 'write-status' && (run.guest || a.kind !== 'sync-guest'));
  if (!run.exists && executable.every((a) => a.kind === 'noop')) retryLater = 'instance-not-found';

  const guestFailure = failed.find((r) => r.action.kind === 'sync-guest');
  if (guestFailure) {
    if (isAgentNotRegistered(guestFailure.cause)) {
      // Terminal for this job: retrying would hold the instance's FIFO group (and, across many agentless
      // instances, the queue) for 5 x 12 minutes into the DLQ. The State Manager association runs the document
      // when the agent registers, and the sweep sends a job once SSM shows the agent Online.
      status = Status.agentPending();
    } else {
      status = Status.guestFailed(`SendCommand ${guestFailure.error}`);
      if (isRetryLater(guestFailure.cause)) retryLater = `sync-guest failed: ${guestFailure.error}`;
    }
  }
  return { status: status === undefined ? undefined : statusValue(status), placed, retryLater };
}
