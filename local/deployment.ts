/**
 * The stack deployed into the local region: what `npm run demo` and the end-to-end tests run.
 *
 * - the region model behind its HTTP server on 127.0.0.1 (EC2 Query, SSM JSON, SQS JSON);
 * - the job queue and its dead-letter queue as infra/queue.yml declares them (visibility timeout, maxReceiveCount);
 * - an EventBridge bus with the rules of serverless.yml + infra/events.yml (read from source, see
 * local/stack/source.ts),
 *   each target invoking the **real** handler module, imported after the environment the stack gives it is set;
 * - the reconcile function's SQS event source (its batch size from serverless.yml);
 * - the **real** SSM document (ssm-documents/guest-sync.yaml, registered with CreateDocument) which, with
 *   `guests: 'lab'`, really runs inside each instance's VPC lab guest (local/lab/guests.ts);
 * - one driven clock for the region, the queues and the bus: real time plus an offset that {@link Deployment.settle}
 *   moves forward when nothing is left to do but wait (a state transition, an SQS redelivery), so a 12-minute
 *   visibility timeout costs nothing.
 *
 * The handlers read their configuration once, at import (cold start), and Node caches modules: so there is one
 * deployment per process (a test file, the demo).
 *
 * This file composes the parts under local/deployment/: the Lambda context (context.ts), log capture (logs.ts),
 * wiring (wiring.ts), the driven clock (clock.ts), the user's actions (driver.ts) and the traces (trace.ts).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import type { HandlerOptions } from '#functions/reconcile/handler';
import { LocalBus } from './bus';
import { DrivenClock, rateMs, settle } from './deployment/clock';
import { type AddressRow, Driver, type OwnedAddress, STATUS_TAG } from './deployment/driver';
import { captureLogs, logData } from './deployment/logs';
import { resourceId, summarize, type Trace } from './deployment/trace';
import { type DeploymentIam, startIam } from './deployment/iam';
import {
  applyEnv,
  functionEnv,
  type Handler,
  loadHandlers,
  registerGuestDocument,
  wireRules,
} from './deployment/wiring';
import { LabGuests } from './lab/guests';
import type { IamEvaluator } from './region/iam/evaluator';
import { createRegion, type Region, type RegionEvent } from './region/model/index';
import { type RegionServer, startRegionServer } from './region/server';
import { startEventSource } from './deployment/event-source';
import type { RateLimitOptions } from './region/limits';
import { FifoQueue, LocalSqs } from './sqs-fifo';
import { readStackSource, type StackSource } from './stack/source';

import { lambdaContext } from './deployment/context';

export { lambdaContext, rateMs };
export { type AddressRow, type OwnedAddress, STATUS_TAG } from './deployment/driver';
export { summarize, type Trace } from './deployment/trace';

/** Options of {@link startDeployment}. */
export interface DeploymentOptions {
  /** `lab`: every instance gets a VPC lab guest and SSM runs the document in it (root only). Default `none`. */
  guests?: 'lab' | 'none';
  /** Time after `running` before an instance's SSM agent registers (default 0). */
  agentRegistrationDelayMs?: number;
  /**
   * Real time before an agent picks a command up (default 100 ms). AWS takes about a second; with 0 a command can
   * finish before reconcile writes `syncing k/n`, a race the reconciler settles
   * (the status is written before SendCommand; tested in test/reconcile/reconcile.test.ts).
   */
  commandPickupMs?: number;
  /** Time each instance state transition takes, on the driven clock (default 5 s). */
  transitionMs?: number;
  /** `vpc-max-elastic-ips` (default 5, AWS's default quota). */
  eipQuota?: number;
  /** Stack parameters (`--param name=value`), e.g. `{ countTagKey: 'eips' }`. */
  params?: Record<string, string>;
  /** Handler log level (default INFO: the logs become `log` traces and never reach stdout). */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Drop events before routing when this returns true (EventBridge is best effort). Can be changed later. */
  dropWhen?: (event: RegionEvent) => boolean;
  /**
   * Fire the sweep schedule at the stack's `sweepRate` of driven time while `settle` waits (as the deployed
   * schedule rule does). Off by default, so that `settle` can report that nothing is left to wait for.
   */
  sweepSchedule?: boolean;
  /**
   * IAM (default on): each function signs with its own key and the region evaluates every call against that
   * function's role in the packaged template (local/deployment/iam.ts). `false` serves every call, as before.
   */
  iam?: boolean;
  /** Owner account of the VPC (default: ours); another account models a VPC shared through RAM. */
  vpcOwnerId?: string;
  /** The region's API rate limits (`local/region/limits.ts`; `{}` = AWS's default buckets). Default off. */
  rateLimits?: RateLimitOptions;
  /** /24 prefixes Elastic IPs come from (default: the two documentation ranges the VPC lab leaves free). */
  publicIpRanges?: string[];
  /** How each reconcile container handles throttling (the fleet bench compares designs). */
  reconcile?: HandlerOptions;
}

/** A running local deployment. */
export interface Deployment {
  readonly region: Region;
  readonly server: RegionServer;
  readonly bus: LocalBus;
  readonly jobs: FifoQueue;
  readonly deadLetters: FifoQueue;
  readonly source: StackSource;
  /** Present with `guests: 'lab'`. */
  readonly guests: LabGuests | undefined;
  /** An EC2 client over the wire, as a user's own tooling would be. */
  readonly ec2: EC2Client;
  /** The environment the functions run with (AWS_ENDPOINT_URL, JOB_QUEUE_URL, …), e.g. for the CLI as a child. */
  readonly env: Record<string, string>;
  /** The IAM evaluator (undefined with `iam: false`): its `decisions` list every call a function made. */
  readonly iam: IamEvaluator | undefined;
  /** The driven clock (ms since the epoch). */
  now(): number;
  /** Moves the clock forward (then applies due state transitions). */
  advance(ms: number, why: string): void;
  /** Replaces the event-drop predicate. */
  setDropWhen(dropWhen: ((event: RegionEvent) => boolean) | undefined): void;
  onTrace(listener: (t: Trace) => void): () => void;
  /** Launches one instance (optionally tagged at launch); returns its id. */
  launch(instanceType: string, tags?: Record<string, string>): Promise<string>;
  setTags(instanceId: string, tags: Record<string, string>): Promise<void>;
  terminate(instanceId: string): Promise<void>;
  stop(instanceId: string): Promise<void>;
  start(instanceId: string): Promise<void>;
  /** Fires the sweep schedule rule(s) now. */
  fireSweep(): void;
  /** Waits until no event, job, command or guest change is in flight and the region saw no new call for a round. */
  quiesce(): Promise<void>;
  /**
   * Quiesces, then, while `until` is false, moves the clock to the next thing that waits on time (a state
   * transition, an SQS redelivery) and quiesces again. Without `until`, runs until nothing waits. Throws when
   * `until` is still false and nothing is left to wait for, or after `maxSimulatedMs` of driven time.
   */
  settle(until?: () => boolean | Promise<boolean>, opts?: { maxSimulatedMs?: number; what?: string }): Promise<void>;
  statusOf(instanceId: string): Promise<string | undefined>;
  /** Every status value the instance's status tag took, in order. */
  statusHistory(instanceId: string): (string | undefined)[];
  /** The instance's addresses, primary ENI first, in private-IP order; with guests, also the guest's view. */
  addresses(instanceId: string, opts?: { verify?: boolean }): Promise<AddressRow[]>;
  /** Every address eip-autopilot owns (`eip-autopilot:managed=true`), associated or not; or those of one instance. */
  ownedAddresses(instanceId?: string): Promise<OwnedAddress[]>;
  /** Stops everything; restores the environment and stdout. Idempotent. */
  close(): Promise<void>;
}

let importedFor: string | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a deployment. Call `close()` when done (also on failure). */
export async function startDeployment(opts: DeploymentOptions = {}): Promise<Deployment> {
  const source = readStackSource({ params: opts.params });
  const listeners = new Set<(t: Trace) => void>();
  const trace = (t: Trace) => {
    for (const l of listeners) l(t);
  };
  const clock = new DrivenClock(() => region.tick(), trace);
  const now = clock.now;
  const history = new Map<string, (string | undefined)[]>();
  let dropWhen = opts.dropWhen;

  const region = createRegion({
    clock: now,
    eipQuota: opts.eipQuota ?? 5,
    transitionMs: opts.transitionMs ?? 5_000,
    agentRegistrationDelayMs: opts.agentRegistrationDelayMs ?? 0,
    commandPickupMs: opts.commandPickupMs ?? 100,
    // The VPC lab's "internet" is 192.0.2.0/24 (local/lab/vpc-lab.ts): an EIP there would be on-link for the echo
    // server, which would ARP for it instead of routing it back through the internet gateway.
    publicIpRanges: opts.publicIpRanges ?? ['198.51.100', '203.0.113'],
    vpcOwnerId: opts.vpcOwnerId,
    rateLimits: opts.rateLimits,
  });
  const guests = opts.guests === 'lab' ? new LabGuests(region, trace) : undefined;
  if (guests) region.setRunner(guests.runner);

  const sqs = new LocalSqs();
  const cleanups: (() => unknown)[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // keep cleaning up
      }
    }
  };
  if (guests) cleanups.push(() => guests.destroy());

  try {
    const iam: DeploymentIam | undefined = opts.iam === false ? undefined : startIam(region, opts.params ?? {});
    if (iam) cleanups.push(() => iam.close());
    const server = await startRegionServer({ region, sqs, authorizeSqs: iam?.authorizeSqs });
    cleanups.push(() => server.close());
    const q = source.jobQueue;
    const deadLetters = sqs.add(
      new FifoQueue({ name: q.deadLetterQueueName, url: server.queueUrl(q.deadLetterQueueName), clock: now }),
    );
    const jobs = sqs.add(
      new FifoQueue({
        name: q.name,
        url: server.queueUrl(q.name),
        clock: now,
        visibilityTimeoutMs: q.visibilityTimeoutMs,
        maxReceiveCount: q.maxReceiveCount,
        deadLetterQueue: deadLetters,
      }),
    );

    const env = functionEnv(source, {
      endpoint: server.url,
      regionName: region.regionName,
      jobQueueUrl: jobs.url,
      logLevel: opts.logLevel ?? 'INFO',
    });
    if (importedFor !== undefined && importedFor !== server.url) {
      throw new Error(
        'one local deployment per process: the handlers read their configuration once, at import (cold start)',
      );
    }
    cleanups.push(applyEnv(env));
    cleanups.push(
      captureLogs((record) => {
        trace({ kind: 'log', level: String(record.level), message: String(record.message), data: logData(record) });
      }),
    );

    importedFor = server.url;
    const loaded = await loadHandlers(source);
    // Function key (serverless.yml) of each handler: an invocation runs with that function's credentials.
    const functionOf = new Map(Object.entries(source.handlers).map(([key, path]) => [path, key]));
    const handler = (path: string): Handler => {
      const h = loaded(path);
      const key = functionOf.get(path);
      if (!iam || !key) return h;
      return (event, context) => iam.asFunction(key, () => h(event, context));
    };
    await registerGuestDocument(region, env.GUEST_DOCUMENT_NAME ?? '');

    const bus = new LocalBus({ clock: now, dropWhen: (event) => dropWhen?.(event) ?? false });
    wireRules(bus, source, handler, trace);
    const fireSweep = () => {
      const schedules = source.rules.filter((r) => r.schedule);
      if (schedules.length === 0) throw new Error('the stack has no schedule rule');
      for (const rule of schedules) bus.fireSchedule(rule.logicalId);
    };
    const sweepEvery = rateMs(source.params.sweepRate ?? 'rate(15 minutes)');
    let nextSweepAt = opts.sweepSchedule ? now() + sweepEvery : undefined;
    const sweep = {
      nextAt: () => nextSweepAt,
      fire: () => {
        fireSweep();
        nextSweepAt = now() + sweepEvery;
      },
    };
    const detachBus = region.onEvent((event) => {
      if (
        event['detail-type'] === 'Tag Change on Resource' &&
        (event.detail['changed-tag-keys'] as string[] | undefined)?.includes(STATUS_TAG)
      ) {
        const id = resourceId(event);
        const status = (event.detail.tags as Record<string, string> | undefined)?.[STATUS_TAG];
        history.set(id, [...(history.get(id) ?? []), status]);
        trace({ kind: 'status', instanceId: id, status });
      }
      if (bus.put(event).length === 0 && bus.dropped.at(-1) === event)
        trace({ kind: 'dropped', detailType: event['detail-type'], summary: summarize(event) });
    });
    cleanups.push(detachBus);

    // Lambda refuses an SQS event source whose function role cannot poll the queue (CreateEventSourceMapping).
    const reconcileKey =
      functionOf.get(source.handlers.reconcile ?? 'functions/reconcile/handler.handler') ?? 'reconcile';
    await iam?.checkEventSource(reconcileKey, jobs.url);
    // The reconcile event source as deployed: up to MaximumConcurrency containers, each its own handler instance
    // (its own SDK clients and rate limiter), with a Lambda context whose remaining time counts down.
    const { makeHandler } = await import('#functions/reconcile/handler');
    const { reconcileDeps } = await import('#src/deps');
    const { loadConfig } = await import('#src/config');
    const reconcileTimeoutMs = source.timeoutsMs.reconcile ?? 120_000;
    const eventSource = startEventSource({
      queue: jobs,
      batchSize: source.reconcileBatchSize,
      maxConcurrency: source.reconcileMaxConcurrency,
      container: () => {
        const h = makeHandler(reconcileDeps(loadConfig(process.env, { requireQueue: false })), opts.reconcile);
        // Each invocation signs with the reconcile function's credentials (its clients resolve them on first use).
        return iam ? (event, context) => iam.asFunction(reconcileKey, () => h(event, context)) : h;
      },
      context: () => {
        const deadline = Date.now() + reconcileTimeoutMs;
        return { ...lambdaContext('reconcile'), getRemainingTimeInMillis: () => deadline - Date.now() };
      },
    });
    cleanups.push(() => eventSource.stop());
    const active = () => eventSource.active();
    cleanups.push(region.startClock(50));

    const ec2 = new EC2Client({
      endpoint: server.url,
      region: region.regionName,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      },
    });
    cleanups.push(() => ec2.destroy());

    // Runs first at close: let in-flight deliveries and commands finish (bounded) while the server and the log
    // capture are still up, so that nothing writes to a closed server or to stdout after close().
    const inFlight = async () => {
      await Promise.all([bus.idle(), region.idle()]);
      while (active() > 0) await sleep(5);
    };
    cleanups.push(() => Promise.race([inFlight(), sleep(5_000)]));

    const fingerprint = () =>
      [region.calls.length, bus.deliveries.length, jobs.counts().visible, active(), deadLetters.counts().visible].join(
        '/',
      );
    const quiesce = async () => {
      for (let seen = ''; ; ) {
        await bus.idle();
        await region.idle();
        await guests?.idle();
        // Receivable, not visible: a job queued behind its instance's in-flight job waits for that one's redelivery.
        while (active() > 0 || jobs.receivable() > 0) await sleep(5);
        await bus.idle();
        await sleep(25);
        const current = fingerprint();
        if (current === seen) return;
        seen = current;
      }
    };

    const driver = new Driver(ec2, region, guests);
    const deployment: Deployment = {
      region,
      server,
      bus,
      jobs,
      deadLetters,
      source,
      guests,
      ec2,
      env,
      iam: iam?.evaluator,
      now,
      advance: clock.advance,
      setDropWhen(fn) {
        dropWhen = fn;
      },
      onTrace(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      launch: (instanceType, tags) => driver.launch(instanceType, tags),
      setTags: (instanceId, tags) => driver.setTags(instanceId, tags),
      terminate: (instanceId) => driver.terminate(instanceId),
      stop: (instanceId) => driver.stop(instanceId),
      start: (instanceId) => driver.start(instanceId),
      fireSweep,
      quiesce,
      settle: (until, settleOpts) =>
        settle(
          {
            clock,
            quiesce,
            nextTransitionAt: () => region.nextTransitionAt(),
            jobs,
            sweep,
          },
          until,
          settleOpts,
        ),
      statusOf: (instanceId) => driver.statusOf(instanceId),
      statusHistory: (instanceId) => [...(history.get(instanceId) ?? [])],
      addresses: (instanceId, addrOpts) => driver.addresses(instanceId, addrOpts),
      ownedAddresses: (instanceId) => driver.ownedAddresses(instanceId),
      close,
    };
    return deployment;
  } catch (e) {
    await close();
    throw e;
  }
}
