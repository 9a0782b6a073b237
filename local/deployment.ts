/**
 * The stack deployed into the local region: what `npm run demo` and the end-to-end tests run.
 *
 * - the region model behind its HTTP server on 127.0.0.1 (EC2 Query, SSM JSON, SQS JSON);
 * - the job queue and its dead-letter queue as infra/queue.yml declares them (visibility timeout, maxReceiveCount);
 * - an EventBridge bus with the rules of serverless.yml + infra/events.yml (read from source, see local/stack/source.ts),
 *   each target invoking the **real** handler module, imported after the environment the stack gives it is set;
 * - the reconcile function's SQS event source (its batch size from serverless.yml);
 * - the **real** SSM document (ssm-documents/guest-sync.yaml, registered with CreateDocument) which, with
 *   `guests: 'lab'`, really runs inside each instance's VPC lab guest (local/guests.ts);
 * - one driven clock for the region, the queues and the bus: real time plus an offset that {@link Deployment.settle}
 *   moves forward when nothing is left to do but wait (a state transition, an SQS redelivery), so a 12-minute
 *   visibility timeout costs nothing.
 *
 * The handlers read their configuration once, at import (cold start), and Node caches modules: so there is one
 * deployment per process (a test file, the demo).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTagsCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { LocalBus } from './bus';
import { type GuestTrace, LabGuests } from './lab/guests';
import { createRegion, type Region, type RegionEvent } from './region/model/index';
import { type DeploymentIam, startIam } from './deployment/iam';
import type { IamEvaluator } from './region/iam/evaluator';
import { type RegionServer, startRegionServer } from './region/server';
import { FifoQueue, LocalSqs, type SqsHandler, startDelivery } from './sqs-fifo';
import { STACK_ROOT } from './stack/package';
import { readStackSource, type StackSource } from './stack/source';

/** Status tag written by the reconciler (fixed key, docs/ARCHITECTURE.md). */
export const STATUS_TAG = 'eip-autopilot:status';
const MANAGED_TAG = 'eip-autopilot:managed';
const OWNER_TAG = 'eip-autopilot:instance-id';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The handler modules the stack may name. Static imports (not a computed path) so that tsx and vitest resolve them
 * the same way; a handler the stack names but this table lacks is an error at start.
 */
const HANDLER_MODULES: Record<string, () => Promise<{ handler: unknown }>> = {
  'functions/intake/handler.handler': () => import('#functions/intake/handler'),
  'functions/reconcile/handler.handler': () => import('#functions/reconcile/handler'),
  'functions/sweep/handler.handler': () => import('#functions/sweep/handler'),
  'functions/command-status/handler.handler': () => import('#functions/command-status/handler'),
};

/** One line of what happened, in order: the demo prints these as progress lines. */
export type Trace =
  | { kind: 'event'; detailType: string; summary: string; rule: string; target: string }
  | { kind: 'log'; level: string; message: string; data: Record<string, unknown> }
  | { kind: 'status'; instanceId: string; status: string | undefined }
  | { kind: 'clock'; advancedMs: number; why: string }
  | { kind: 'dropped'; detailType: string; summary: string }
  | GuestTrace;

/** Options of {@link startDeployment}. */
export interface DeploymentOptions {
  /** `lab`: every instance gets a VPC lab guest and SSM runs the document in it (root only). Default `none`. */
  guests?: 'lab' | 'none';
  /** Time after `running` before an instance's SSM agent registers (default 0). */
  agentRegistrationDelayMs?: number;
  /**
   * Real time before an agent picks a command up (default 100 ms). AWS takes about a second; with 0 a command can
   * finish before reconcile writes `syncing k/n`, and the status stays `syncing` (known reconciler issue, being fixed).
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
   * IAM (default on): each function signs with its own key and the region evaluates every call against that
   * function's role in the packaged template (local/deployment/iam.ts). `false` serves every call, as before.
   */
  iam?: boolean;
  /** Owner account of the VPC (default: ours); another account models a VPC shared through RAM. */
  vpcOwnerId?: string;
  /**
   * Fire the sweep schedule at the stack's `sweepRate` of driven time while `settle` waits (as the deployed
   * schedule rule does). Off by default, so that `settle` can report that nothing is left to wait for.
   */
  sweepSchedule?: boolean;
}

/** Milliseconds of a `rate(N minute[s]|hour[s]|day[s])` schedule expression. */
export function rateMs(expression: string): number {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  if (!m) throw new Error(`not a rate expression: ${expression}`);
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2] as 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}

/** An owned or associated address of an instance, as the demo's table shows it. */
export interface AddressRow {
  publicIp: string;
  allocationId: string;
  privateIp: string;
  eniId: string;
  deviceIndex: number;
  /** Guest interface that holds the private IP (`ip addr` in the guest), '' if none; undefined without guests. */
  guestDevice?: string;
  /** What the echo server saw when the guest called out from the private IP; undefined without guests. */
  egress?: string;
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
  /** The environment the functions run with (AWS_ENDPOINT_URL, JOB_QUEUE_URL, …), e.g. for the CLI as a child process. */
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
  ownedAddresses(
    instanceId?: string,
  ): Promise<{ allocationId: string; publicIp: string; associated: boolean; instanceId: string }[]>;
  /** Stops everything; restores the environment and stdout. Idempotent. */
  close(): Promise<void>;
}

let importedFor: string | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Lambda context a handler gets, for function `name` of the dev stage (the demo, e2e and handler tests). */
export function lambdaContext(name: string): Context {
  return {
    functionName: `eip-autopilot-dev-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:eip-autopilot-dev-${name}`,
    memoryLimitInMB: '256',
    awsRequestId: 'local',
    logGroupName: `/aws/lambda/eip-autopilot-dev-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A one-line summary of an event for the progress lines. */
export function summarize(event: RegionEvent): string {
  const d = event.detail as Record<string, unknown>;
  switch (event['detail-type']) {
    case 'EC2 Instance State-change Notification':
      return `${d['instance-id']} ${d.state}`;
    case 'Tag Change on Resource': {
      const id = String(event.resources[0] ?? '')
        .split('/')
        .pop();
      const tags = (d.tags ?? {}) as Record<string, string>;
      const keys = (d['changed-tag-keys'] ?? []) as string[];
      return `${id} ${keys.map((k) => (k in tags ? `${k}=${tags[k]}` : `${k} deleted`)).join(' ')}`;
    }
    case 'EC2 Command Invocation Status-change Notification':
      return `${d['instance-id']} ${d['document-name']} ${d.status}`;
    default:
      return event.resources.join(' ');
  }
}

/**
 * Powertools writes one JSON line per log record to stdout. While a deployment runs, those lines become `log`
 * traces (like reading CloudWatch Logs) instead of mixing into the demo's output; other output passes through.
 */
function captureLogs(onRecord: (r: Record<string, unknown>) => void): () => void {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  const patched = streams.map((stream, i) => {
    const original = originals[i] as (...a: unknown[]) => boolean;
    const write = (chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      let record: Record<string, unknown> | undefined;
      // Powertools Metrics warns (stderr) after every invocation that published no metric: ours, with metrics off.
      if (text.startsWith('No application metrics to publish.'))
        record = { level: 'DEBUG', message: 'no application metrics to publish' };
      else if (text.startsWith('{"level":')) {
        try {
          const parsed = JSON.parse(text) as Record<string, unknown>;
          if (typeof parsed.message === 'string') record = parsed;
        } catch {
          // not one of ours: pass it through
        }
      }
      if (!record) return original.call(stream, chunk, ...rest);
      onRecord(record);
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    };
    stream.write = write as typeof stream.write;
    return write;
  });
  return () => {
    streams.forEach((stream, i) => {
      if (stream.write === (patched[i] as unknown)) stream.write = originals[i] as typeof stream.write;
    });
  };
}

/** Powertools keys that say nothing about what happened. */
const LOG_NOISE = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
]);

/** Starts a deployment. Call `close()` when done (also on failure). */
export async function startDeployment(opts: DeploymentOptions = {}): Promise<Deployment> {
  const source = readStackSource({ params: opts.params });
  let offset = 0;
  const now = () => Date.now() + offset;
  const listeners = new Set<(t: Trace) => void>();
  const trace = (t: Trace) => {
    for (const l of listeners) l(t);
  };
  const history = new Map<string, (string | undefined)[]>();
  let dropWhen = opts.dropWhen;

  const region = createRegion({
    clock: now,
    eipQuota: opts.eipQuota ?? 5,
    transitionMs: opts.transitionMs ?? 5_000,
    agentRegistrationDelayMs: opts.agentRegistrationDelayMs ?? 0,
    commandPickupMs: opts.commandPickupMs ?? 100,
    // The VPC lab's "internet" is 192.0.2.0/24 (test/lab/vpc-lab.ts): an EIP there would be on-link for the echo
    // server, which would ARP for it instead of routing it back through the internet gateway.
    publicIpRanges: ['198.51.100', '203.0.113'],
    vpcOwnerId: opts.vpcOwnerId,
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

    // The functions' environment, as serverless.yml's provider.environment sets it.
    const p = source.params;
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL: server.url,
      AWS_REGION: region.regionName,
      AWS_ACCESS_KEY_ID: 'AKIDLOCALREGION',
      AWS_SECRET_ACCESS_KEY: 'local-region-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      JOB_QUEUE_URL: jobs.url,
      COUNT_TAG_KEY: p.countTagKey ?? 'eip-count',
      POOL_TAG_KEY: p.poolTagKey ?? 'eip-pool',
      ON_STOP_TAG_KEY: p.onStopTagKey ?? 'eip-on-stop',
      GUEST_DOCUMENT_NAME: p.guestDocumentName ?? 'eip-autopilot-guest-sync',
      DRY_RUN: p.dryRun ?? 'false',
      POWERTOOLS_SERVICE_NAME: 'eip-autopilot',
      POWERTOOLS_LOG_LEVEL: opts.logLevel ?? 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: 'EipAutopilot',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    if (importedFor !== undefined && importedFor !== server.url) {
      throw new Error(
        'one local deployment per process: the handlers read their configuration once, at import (cold start)',
      );
    }
    const saved = { ...process.env };
    Object.assign(process.env, env);
    cleanups.push(() => {
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    });
    cleanups.push(
      captureLogs((record) => {
        const data = Object.fromEntries(Object.entries(record).filter(([k]) => !LOG_NOISE.has(k)));
        trace({ kind: 'log', level: String(record.level), message: String(record.message), data });
      }),
    );

    importedFor = server.url;
    const handlers = new Map<string, Handler>();
    for (const path of new Set(Object.values(source.handlers))) {
      const load = HANDLER_MODULES[path];
      if (!load) throw new Error(`serverless.yml names handler ${path}, which the local deployment does not know`);
      handlers.set(path, (await load()).handler as Handler);
    }
    // Function key (serverless.yml) of each handler: an invocation runs with that function's credentials.
    const functionOf = new Map(Object.entries(source.handlers).map(([key, path]) => [path, key]));
    const handler = (path: string): Handler => {
      const h = handlers.get(path);
      if (!h) throw new Error(`no handler ${path}`);
      const key = functionOf.get(path);
      if (!iam || !key) return h;
      return (event, context) => iam.asFunction(key, () => h(event, context));
    };

    await region.ssm('CreateDocument', {
      Name: env.GUEST_DOCUMENT_NAME,
      DocumentType: 'Command',
      DocumentFormat: 'YAML',
      Content: readFileSync(join(STACK_ROOT, 'ssm-documents', 'guest-sync.yaml'), 'utf8'),
    });

    const bus = new LocalBus({ clock: now, dropWhen: (event) => dropWhen?.(event) ?? false });
    const nameOf = (path: string) => path.split('/')[1] ?? path;
    for (const rule of source.rules) {
      bus.addRule({
        name: rule.logicalId,
        pattern: rule.pattern,
        schedule: rule.schedule,
        targets: rule.targets.map((t) => ({
          id: nameOf(t.handler),
          deadLetterQueue: t.deadLetterQueue,
          invoke: (event: RegionEvent) => {
            trace({
              kind: 'event',
              detailType: event['detail-type'],
              summary: summarize(event),
              rule: rule.logicalId,
              target: nameOf(t.handler),
            });
            return handler(t.handler)(event, lambdaContext(nameOf(t.handler)));
          },
        })),
      });
    }
    const fireSweep = () => {
      const schedules = source.rules.filter((r) => r.schedule);
      if (schedules.length === 0) throw new Error('the stack has no schedule rule');
      for (const rule of schedules) bus.fireSchedule(rule.logicalId);
    };
    const sweepEvery = rateMs(source.params.sweepRate ?? 'rate(15 minutes)');
    let nextSweepAt = opts.sweepSchedule ? now() + sweepEvery : undefined;
    const detachBus = region.onEvent((event) => {
      if (
        event['detail-type'] === 'Tag Change on Resource' &&
        (event.detail['changed-tag-keys'] as string[] | undefined)?.includes(STATUS_TAG)
      ) {
        const id =
          String(event.resources[0] ?? '')
            .split('/')
            .pop() ?? '';
        const status = (event.detail.tags as Record<string, string> | undefined)?.[STATUS_TAG];
        history.set(id, [...(history.get(id) ?? []), status]);
        trace({ kind: 'status', instanceId: id, status });
      }
      if (bus.put(event).length === 0 && bus.dropped.at(-1) === event)
        trace({ kind: 'dropped', detailType: event['detail-type'], summary: summarize(event) });
    });
    cleanups.push(detachBus);

    let active = 0;
    const reconcilePath = source.handlers.reconcile ?? 'functions/reconcile/handler.handler';
    const reconcile = handler(reconcilePath);
    const consumer: SqsHandler = async (event) => {
      active += 1;
      try {
        return (await reconcile(event, lambdaContext('reconcile'))) as Awaited<ReturnType<SqsHandler>>;
      } finally {
        active -= 1;
      }
    };
    // Lambda refuses an SQS event source whose function role cannot poll the queue (CreateEventSourceMapping).
    await iam?.checkEventSource(functionOf.get(reconcilePath) ?? 'reconcile', jobs.url);
    const delivery = startDelivery(jobs, consumer, { batchSize: source.reconcileBatchSize, pollMs: 5 });
    cleanups.push(() => delivery.stop());
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
      while (active > 0) await sleep(5);
    };
    cleanups.push(() => Promise.race([inFlight(), sleep(5_000)]));

    const fingerprint = () =>
      `${region.calls.length}/${bus.deliveries.length}/${jobs.counts().visible}/${active}/${deadLetters.counts().visible}`;
    const quiesce = async () => {
      for (let seen = ''; ; ) {
        await bus.idle();
        await region.idle();
        await guests?.idle();
        // Receivable, not visible: a job queued behind its instance's in-flight job waits for that one's redelivery.
        while (active > 0 || jobs.receivable() > 0) await sleep(5);
        await bus.idle();
        await sleep(25);
        const current = fingerprint();
        if (current === seen) return;
        seen = current;
      }
    };

    const advance = (ms: number, why: string) => {
      offset += ms;
      region.tick();
      trace({ kind: 'clock', advancedMs: ms, why });
    };

    const describeInstance = async (id: string) => {
      const out = await region.ec2('DescribeInstances', { InstanceIds: [id] });
      return out.Reservations?.[0]?.Instances?.[0];
    };
    const tagList = (tags: Record<string, string>): Tag[] =>
      Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

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
      advance,
      setDropWhen(fn) {
        dropWhen = fn;
      },
      onTrace(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async launch(instanceType, tags = {}) {
        const out = await ec2.send(
          new RunInstancesCommand({
            ImageId: 'ami-0123456789abcdef0',
            InstanceType: instanceType as never,
            MinCount: 1,
            MaxCount: 1,
            TagSpecifications:
              Object.keys(tags).length > 0 ? [{ ResourceType: 'instance', Tags: tagList(tags) }] : undefined,
          }),
        );
        const id = out.Instances?.[0]?.InstanceId;
        if (!id) throw new Error('RunInstances returned no instance id');
        return id;
      },
      async setTags(instanceId, tags) {
        await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: tagList(tags) }));
      },
      async terminate(instanceId) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      },
      async stop(instanceId) {
        await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
      },
      async start(instanceId) {
        await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
      },
      fireSweep,
      quiesce,
      async settle(until, settleOpts = {}) {
        const start = now();
        const max = settleOpts.maxSimulatedMs ?? 3_600_000;
        for (;;) {
          await quiesce();
          if (until && (await until())) return;
          if (nextSweepAt !== undefined && nextSweepAt <= now()) {
            fireSweep();
            nextSweepAt = now() + sweepEvery;
            continue;
          }
          const candidates = [region.nextTransitionAt(), jobs.nextVisibleAt(), nextSweepAt].filter(
            (t): t is number => t !== undefined,
          );
          if (candidates.length === 0) {
            if (!until) return;
            throw new Error(
              `settled without ${settleOpts.what ?? 'the expected outcome'}: nothing left in flight or waiting on time`,
            );
          }
          const next = Math.min(...candidates);
          if (next - start > max)
            throw new Error(
              `no ${settleOpts.what ?? 'expected outcome'} after ${Math.round(max / 1000)} s of driven time`,
            );
          const why =
            next === jobs.nextVisibleAt()
              ? 'SQS visibility timeout: the job comes back'
              : next === nextSweepAt
                ? 'sweep schedule'
                : 'instance state transition';
          advance(Math.max(0, next - now()), why);
        }
      },
      async statusOf(instanceId) {
        return (await describeInstance(instanceId))?.Tags?.find((t) => t.Key === STATUS_TAG)?.Value;
      },
      statusHistory: (instanceId) => [...(history.get(instanceId) ?? [])],
      async addresses(instanceId, addrOpts = {}) {
        const out = await region.ec2('DescribeAddresses', { Filters: [{ Name: 'instance-id', Values: [instanceId] }] });
        const enis =
          (
            await region.ec2('DescribeNetworkInterfaces', {
              Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
            })
          ).NetworkInterfaces ?? [];
        const position = (eniId: string, ip: string) => {
          const eni = enis.find((e) => e.NetworkInterfaceId === eniId);
          const ipIndex = eni?.PrivateIpAddresses?.findIndex((p) => p.PrivateIpAddress === ip) ?? -1;
          return { deviceIndex: eni?.Attachment?.DeviceIndex ?? -1, ipIndex };
        };
        const rows: AddressRow[] = (out.Addresses ?? []).map((a) => ({
          publicIp: a.PublicIp ?? '',
          allocationId: a.AllocationId ?? '',
          privateIp: a.PrivateIpAddress ?? '',
          eniId: a.NetworkInterfaceId ?? '',
          deviceIndex: position(a.NetworkInterfaceId ?? '', a.PrivateIpAddress ?? '').deviceIndex,
        }));
        rows.sort((x, y) => {
          const px = position(x.eniId, x.privateIp);
          const py = position(y.eniId, y.privateIp);
          return px.deviceIndex - py.deviceIndex || px.ipIndex - py.ipIndex;
        });
        const lab = guests ? await guests.lab(instanceId) : undefined;
        if (lab && addrOpts.verify !== false) {
          const { stdout } = await lab.exec(['ip', '-o', '-4', 'addr', 'show']);
          const devices = new Map<string, string>();
          for (const line of stdout.split('\n')) {
            const m = /^\d+:\s+(\S+)\s+inet\s+([0-9.]+)\//.exec(line);
            if (m?.[1] && m[2]) devices.set(m[2], m[1].replace(/@.*$/, ''));
          }
          for (const row of rows) {
            row.guestDevice = devices.get(row.privateIp) ?? '';
            row.egress = await lab.egressIp(row.privateIp);
          }
        }
        return rows;
      },
      async ownedAddresses(instanceId) {
        const filters = [{ Name: `tag:${MANAGED_TAG}`, Values: ['true'] }];
        if (instanceId) filters.push({ Name: `tag:${OWNER_TAG}`, Values: [instanceId] });
        const out = await region.ec2('DescribeAddresses', { Filters: filters });
        return (out.Addresses ?? []).map((a) => ({
          allocationId: a.AllocationId ?? '',
          publicIp: a.PublicIp ?? '',
          associated: Boolean(a.AssociationId),
          instanceId: a.Tags?.find((t) => t.Key === OWNER_TAG)?.Value ?? '',
        }));
      },
      close,
    };
    return deployment;
  } catch (e) {
    await close();
    throw e;
  }
}
