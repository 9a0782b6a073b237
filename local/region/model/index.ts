import { RateLimits, type RateLimitOptions } from '../limits';
import { type RegionContext, eventTime, type RegionEvent } from './context';
import { type Ec2Change, Ec2Model, type GuestNetwork } from './ec2';
import { regionError, RegionError } from './errors';
import { createRng } from './rng';
import { type CommandRunner, type RunResult, SsmModel } from './ssm';

export type { RegionEvent } from './context';
export type { Ec2Change, GuestEni, GuestNetwork } from './ec2';
export { RegionError } from './errors';
export { INSTANCE_TYPES } from './instance-types';
export type { CommandRunner, RunResult } from './ssm';
export { STDERR_LIMIT, STDOUT_LIMIT } from './ssm';

/** Every EC2 action the region serves (the reconciler's, the demo's and the tests'). */
export const EC2_ACTIONS = [
  'RunInstances',
  'TerminateInstances',
  'StopInstances',
  'StartInstances',
  'DescribeInstances',
  'CreateTags',
  'DeleteTags',
  'DescribeInstanceTypes',
  'DescribeAccountAttributes',
  'DescribeNetworkInterfaces',
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'AllocateAddress',
  'AssociateAddress',
  'DisassociateAddress',
  'ReleaseAddress',
  'DescribeAddresses',
] as const;

/** Every SSM action the region serves. */
export const SSM_ACTIONS = [
  'SendCommand',
  'GetCommandInvocation',
  'ListCommandInvocations',
  'DescribeInstanceInformation',
  'CreateDocument',
  'UpdateDocument',
  'UpdateDocumentDefaultVersion',
  'DescribeDocument',
  'GetDocument',
] as const;

export type Ec2Action = (typeof EC2_ACTIONS)[number];
export type SsmAction = (typeof SSM_ACTIONS)[number];
export type Ec2Input<A extends Ec2Action> = Parameters<Ec2Model[A]>[0];
export type Ec2Output<A extends Ec2Action> = ReturnType<Ec2Model[A]>;
export type SsmInput<A extends SsmAction> = Parameters<SsmModel[A]>[0];
export type SsmOutput<A extends SsmAction> = ReturnType<SsmModel[A]>;

/** One entry of the call log. */
export interface CallRecord {
  service: 'ec2' | 'ssm';
  action: string;
  ok: boolean;
  /** AWS error code when `ok` is false. */
  error?: string;
  /** Clock time of the call. */
  at: number;
}

/** Options of {@link createRegion}; every one has the default an AWS user would expect. */
export interface RegionOptions {
  /** Account id (default `123456789012`, the id AWS documentation uses). */
  accountId?: string;
  /** Region name (default `us-east-1`). */
  region?: string;
  /** `vpc-max-elastic-ips` (default 5, the AWS default quota). */
  eipQuota?: number;
  /** Time an instance's SSM agent takes to register after `running` (default 0: at once). */
  agentRegistrationDelayMs?: number;
  /** Real time an SSM agent takes to pick a command up (default 0; AWS: about a second). */
  commandPickupMs?: number;
  /** Time each state transition takes (pending → running, …). 0 = done within the same call. */
  transitionMs?: number;
  /** How long terminated instances stay visible (default one hour, like EC2). */
  terminatedVisibleMs?: number;
  /** Eventual consistency: a new instance answers `InvalidInstanceID.NotFound` for this long (default 0). */
  launchVisibilityDelayMs?: number;
  /**
   * /24 prefixes (`a.b.c`) Elastic IPs are drawn from (default `192.0.2`, `198.51.100`, `203.0.113`). The VPC lab's
   * internet is 192.0.2.0/24, so a deployment with lab guests leaves that one out.
   */
  publicIpRanges?: string[];
  /**
   * Owner account of the VPC, its subnets and security group (default: `accountId`). Another account models a VPC
   * shared through RAM: the subnets are the owner's, the instances, ENIs and EIPs ours.
   */
  vpcOwnerId?: string;
  /** Clock in ms since the epoch (default `Date.now`); see {@link manualClock}. */
  clock?: () => number;
  /** Injected latency per call, fixed or uniform in [min, max] (default 0). */
  latencyMs?: number | { min: number; max: number };
  /** Fraction of calls refused with `RequestLimitExceeded` / `ThrottlingException` (default 0). */
  throttleFraction?: number;
  /**
   * API rate limits: token buckets per action on the region's clock (`local/region/limits.ts`). Off by default (unit
   * tests); `{}` gives AWS's default sizes.
   */
  rateLimits?: RateLimitOptions;
  /** Seed of the id generator: same seed, same ids (default 1). */
  seed?: number;
  /** Runs SSM command scripts (default: records and succeeds, see {@link Region.executions}). */
  runner?: CommandRunner;
}

/**
 * Decides whether a call that came over the wire may run (local/region/iam/): resolves to allow, rejects with the
 * RegionError AWS answers a denial with. `caller` is the access key id the request was signed with.
 */
export type Authorizer = (call: {
  caller: string | undefined;
  service: 'ec2' | 'ssm';
  action: string;
  input: Record<string, unknown>;
}) => Promise<void>;

/** Who sent a call over the wire (the server passes it; in-process callers pass nothing and are not evaluated). */
export interface CallOrigin {
  /** Access key id of the request's SigV4 signature (undefined: unsigned). */
  caller: string | undefined;
}

/** The local region: EC2 + SSM state, call log, events. */
export interface Region {
  readonly accountId: string;
  readonly regionName: string;
  /**
   * Calls an EC2 action with the SDK's input shape; resolves to its output shape or rejects with a RegionError. With
   * an `origin` (the server's calls) the authorizer, if set, decides first.
   */
  ec2<A extends Ec2Action>(action: A, input: Ec2Input<A>, origin?: CallOrigin): Promise<Ec2Output<A>>;
  /** Calls an SSM action, same contract as {@link Region.ec2}. */
  ssm<A extends SsmAction>(action: A, input: SsmInput<A>, origin?: CallOrigin): Promise<SsmOutput<A>>;
  /** Sets (or clears) the authorizer of calls that come with an origin: IAM (local/region/iam/). */
  setAuthorizer(authorizer: Authorizer | undefined): void;
  /** Subscribes to the events AWS would send to EventBridge; returns an unsubscribe function. */
  onEvent(listener: (event: RegionEvent) => void): () => void;
  /** Subscribes to internal network changes (associations, ENIs) for the lab's NAT and IMDS. */
  onChange(listener: (change: Ec2Change) => void): () => void;
  /** Every call so far, in order. */
  readonly calls: CallRecord[];
  /** The API rate limits (undefined: off). The server takes SQS tokens here too. */
  readonly limits: RateLimits | undefined;
  /** Scripts the default runner was asked to run. */
  readonly executions: { instanceId: string; script: string; env: Record<string, string> }[];
  /** Applies every state transition due at the current clock (and emits its events). */
  tick(): void;
  /** Clock time of the next scheduled state transition (undefined: none), for a driver of a manual clock. */
  nextTransitionAt(): number | undefined;
  /** Ticks on a real timer (for the server and the demo); returns a function that stops it. */
  startClock(intervalMs?: number): () => void;
  /** Resolves once every SSM command started so far has finished. */
  idle(): Promise<void>;
  /** Replaces the SSM command runner. */
  setRunner(runner: CommandRunner): void;
  /** An instance's network as IMDS shows it (the VPC lab's `LabInstance` shape); undefined if unknown. */
  guestNetwork(instanceId: string): GuestNetwork | undefined;
  /** Subnets of the VPC (CIDR, AZ, owner account) for the lab and IAM. */
  subnets(): { SubnetId: string; CidrBlock: string; AvailabilityZone: string; VpcId: string; OwnerId: string }[];
  /** Security groups of the VPC (owner account) for IAM. */
  securityGroups(): { GroupId: string; VpcId: string; OwnerId: string }[];
  /** Direct access to the halves, for the lab (IMDS) and white-box tests. */
  readonly model: { ec2: Ec2Model; ssm: SsmModel };
}

/** A clock tests move by hand: `const clock = manualClock(); createRegion({ clock: clock.now }); ` +
  `clock.advance(5000)`. */
export function manualClock(start = Date.parse('2026-11-24T10:00:00Z')): {
  now: () => number;
  advance(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Creates a fresh, empty region. */
export function createRegion(opts: RegionOptions = {}): Region {
  const accountId = opts.accountId ?? '123456789012';
  const regionName = opts.region ?? 'us-east-1';
  const now = opts.clock ?? Date.now;
  const rng = createRng(opts.seed ?? 1);
  // Throttling and latency draw from their own stream so that turning them on does not change the ids.
  const chaos = createRng(((opts.seed ?? 1) ^ 0x5bd1e995) >>> 0);
  const listeners = new Set<(event: RegionEvent) => void>();
  const calls: CallRecord[] = [];
  const executions: Region['executions'] = [];
  let authorizer: Authorizer | undefined;
  const limits = opts.rateLimits ? new RateLimits(opts.rateLimits, now) : undefined;

  const ctx: RegionContext = {
    account: accountId,
    region: regionName,
    now,
    rng,
    emit(detailType, source, resources, detail) {
      const event: RegionEvent = {
        version: '0',
        id: rng.uuid(),
        'detail-type': detailType,
        source,
        account: accountId,
        time: eventTime(now()),
        region: regionName,
        resources,
        detail,
      };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // a failing subscriber must not break the API call that emitted the event
        }
      }
    },
  };

  const ec2 = new Ec2Model(ctx, {
    eipQuota: opts.eipQuota ?? 5,
    transitionMs: opts.transitionMs ?? 0,
    terminatedVisibleMs: opts.terminatedVisibleMs ?? 3_600_000,
    launchVisibilityDelayMs: opts.launchVisibilityDelayMs ?? 0,
    publicIpRanges: opts.publicIpRanges,
    vpcOwnerId: opts.vpcOwnerId,
  });
  const defaultRunner: CommandRunner = async (instanceId, script, env): Promise<RunResult> => {
    executions.push({ instanceId, script, env });
    return { exitCode: 0, stdout: '', stderr: '' };
  };
  const ssm = new SsmModel(
    ctx,
    ec2,
    opts.agentRegistrationDelayMs ?? 0,
    opts.runner ?? defaultRunner,
    opts.commandPickupMs ?? 0,
  );

  const delay = async (): Promise<void> => {
    const l = opts.latencyMs;
    if (l === undefined || l === 0) return;
    const ms = typeof l === 'number' ? l : l.min + chaos.next() * (l.max - l.min);
    await new Promise((resolve) => setTimeout(resolve, ms));
  };

  async function invoke(
    service: 'ec2' | 'ssm',
    action: string,
    input: unknown,
    target: object,
    known: readonly string[],
    origin: CallOrigin | undefined,
  ): Promise<unknown> {
    await delay();
    const record: CallRecord = { service, action, ok: true, at: now() };
    calls.push(record);
    try {
      if (!known.includes(action)) {
        throw service === 'ec2'
          ? regionError('InvalidAction', `The action ${action} is not valid for this web service.`)
          : regionError('UnknownOperationException', `Unknown operation ${action}`);
      }
      if ((opts.throttleFraction ?? 0) > 0 && chaos.next() < (opts.throttleFraction ?? 0)) {
        throw service === 'ec2'
          ? regionError('RequestLimitExceeded', 'Request limit exceeded.', 503)
          : regionError('ThrottlingException', 'Rate exceeded', 400);
      }
      limits?.take(service, action, input);
      if (authorizer && origin) {
        // Evaluated against the state as it is now (tags, attachments), like AWS at the moment of the request.
        ec2.settle();
        await authorizer({ caller: origin.caller, service, action, input: (input ?? {}) as Record<string, unknown> });
      }
      ec2.settle();
      // Copied in: the model must never keep a reference to the caller's objects.
      const method = (target as Record<string, (i: unknown) => unknown>)[action] as (i: unknown) => unknown;
      const output = method.call(target, structuredClone(input ?? {}));
      ec2.settle();
      // Copied out too: a caller mutating an answer must not reach into the region's state.
      return structuredClone(output);
    } catch (e) {
      record.ok = false;
      record.error = e instanceof Error ? e.name : 'InternalError';
      if (!(e instanceof RegionError))
        throw regionError('InternalError', `Internal error in the local region: ${(e as Error).message}`, 500);
      throw e;
    }
  }

  return {
    accountId,
    regionName,
    ec2: (action, input, origin) => invoke('ec2', action, input, ec2, EC2_ACTIONS, origin) as never,
    ssm: (action, input, origin) => invoke('ssm', action, input, ssm, SSM_ACTIONS, origin) as never,
    setAuthorizer(next) {
      authorizer = next;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onChange: (listener) => ec2.onChange(listener),
    calls,
    limits,
    executions,
    tick: () => ec2.settle(),
    nextTransitionAt: () => ec2.nextTransitionAt(),
    startClock(intervalMs = 100) {
      const timer = setInterval(() => ec2.settle(), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    idle: () => ssm.idle(),
    setRunner: (runner) => ssm.setRunner(runner),
    guestNetwork: (instanceId) => ec2.guestNetwork(instanceId),
    subnets: () => ec2.subnetList(),
    securityGroups: () => ec2.securityGroupList(),
    model: { ec2, ssm },
  };
}
