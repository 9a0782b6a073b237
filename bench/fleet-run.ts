/**
 * One fleet burst in this process (one local deployment per process: the handlers read their configuration at
 * import). `bench/fleet.ts` runs it as a child process per variant and reads the JSON it prints on its last line.
 *
 *   tsx bench/fleet-run.ts '{"instances":100,"limits":true,"share":0.6,...}'
 */
import { startDeployment, type Trace } from '#local/deployment';
import { createTenant } from '#local/region/tenant';
import { Status } from '#src/reconcile/status';
import { startVirtualTime } from '#local/virtual-time';

/** What one run is asked to do. */
export interface RunSpec {
  label: string;
  instances: number;
  /** Region rate limits on (AWS's default bucket sizes). */
  limits: boolean;
  /** apiRateShare (0 = no client-side limiter). */
  share: number;
  /** reconcileConcurrency (the event source's MaximumConcurrency). */
  concurrency: number;
  /** Rerun a throttled reconcile within its invocation (else: wait for the SQS redelivery). */
  retryInInvocation: boolean;
  /** Tenant requests per second per EC2 action. */
  tenant: Record<string, number>;
  /** Seconds of launch burst. */
  burstSeconds: number;
  /** Give up after this much clock time (ms). */
  maxMs: number;
}

/** Requests of one bucket, as second offsets from the burst start. */
export interface BucketRun {
  key: string;
  capacity: number;
  refillPerSecond: number;
  ours: { admitted: number[]; refused: number[] };
  tenant: { admitted: number[]; refused: number[] };
}

/** What one run measured. */
export interface RunResult {
  spec: RunSpec;
  /** Seconds from the first launch until each instance first read its wanted status (3 of 3), ascending. */
  convergedAt: number[];
  /** Seconds until every instance read it (undefined: not within maxMs). */
  allOkAt: number | undefined;
  buckets: BucketRun[];
  dlq: number;
  maxReceives: number;
  leakedEips: number;
  leakedEnis: number;
  /** Clock time skipped by settle() while nothing was in flight (ms). */
  jumpedMs: number;
  wallMs: number;
  asyncFailures: number;
}

const WANTED = Status.ok(3, 3);

// 198.18.0.0/15 (RFC 2544, benchmarking): 512 /24s, enough public IPs for 1,000 × 3 EIPs; never routed anywhere.
const BENCH_RANGES = Array.from({ length: 512 }, (_, i) => `198.${18 + (i >> 8)}.${i & 255}`);

/** Runs one burst and returns what it measured. */
export async function runBurst(spec: RunSpec): Promise<RunResult> {
  const clock = startVirtualTime();
  const d = await startDeployment({
    guests: 'none',
    eipQuota: 1_000_000,
    transitionMs: 5_000,
    commandPickupMs: 1_000,
    rateLimits: spec.limits ? {} : undefined,
    publicIpRanges: BENCH_RANGES,
    params: { apiRateShare: String(spec.share), reconcileConcurrency: String(spec.concurrency) },
    reconcile: { retryInInvocation: spec.retryInInvocation },
  });
  try {
    const converged = new Map<string, number>();
    let maxReceives = 0;
    let start = d.now();
    let jumpedMs = 0;
    d.onTrace((t: Trace) => {
      if (t.kind === 'status' && t.status === WANTED && !converged.has(t.instanceId))
        converged.set(t.instanceId, d.now() - start);
      if (t.kind === 'log' && t.message === 'job received')
        maxReceives = Math.max(maxReceives, Number(t.data.receiveCount ?? 0));
      if (t.kind === 'clock' && t.why.startsWith('SQS')) jumpedMs += t.advancedMs;
    });
    const limits = d.region.limits;
    const tenant = limits ? createTenant({ limits, now: d.now, rates: spec.tenant }) : undefined;
    start = d.now();
    const stopTenant = tenant?.start(100);
    // The burst: an Auto Scaling group launching `instances` over `burstSeconds`, one RunInstances per second.
    const launched: string[] = [];
    for (let s = 0; s < spec.burstSeconds; s++) {
      const count = Math.floor(spec.instances / spec.burstSeconds) + (s < spec.instances % spec.burstSeconds ? 1 : 0);
      if (count > 0) {
        const out = await d.region.ec2('RunInstances', {
          ImageId: 'ami-0123456789abcdef0',
          InstanceType: 't3.medium',
          MinCount: count,
          MaxCount: count,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'eip-count', Value: '3' }] }],
        });
        for (const i of out.Instances ?? []) launched.push(i.InstanceId ?? '');
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    let allOkAt: number | undefined;
    try {
      await d.settle(() => converged.size >= spec.instances, { maxSimulatedMs: spec.maxMs, what: WANTED });
      allOkAt = Math.max(...converged.values()) / 1000;
    } catch {
      allOkAt = undefined;
    }
    stopTenant?.();

    // Who spent each bucket: everything the region admitted or refused, minus the tenant's (and the launches).
    const seconds = (t: number) => Math.round(t - start) / 1000;
    const buckets: BucketRun[] = (limits?.usage() ?? [])
      .filter((u) => u.key !== 'ec2:RunInstances')
      .map((u) => {
        const times = (c: { admitted: number[]; refused: number[] } | undefined) => ({
          admitted: (c?.admitted ?? []).map(seconds),
          refused: (c?.refused ?? []).map(seconds),
        });
        return {
          key: u.key,
          capacity: u.spec.capacity,
          refillPerSecond: u.spec.refillPerSecond,
          ours: times(u.callers.account),
          tenant: times(u.callers.tenant),
        };
      });
    if (!limits) {
      // Limits off: count our calls from the region's call log, against the default bucket sizes for reference.
      const byAction = new Map<string, number[]>();
      for (const c of d.region.calls) {
        if (c.service !== 'ec2' || c.action === 'RunInstances' || !c.ok) continue;
        byAction.set(c.action, [...(byAction.get(c.action) ?? []), seconds(c.at)]);
      }
      for (const [action, times] of byAction) {
        const read = /^(Describe|List|Get)/.test(action);
        buckets.push({
          key: `ec2:${action}`,
          capacity: read ? 100 : 50,
          refillPerSecond: read ? 20 : 5,
          ours: { admitted: times, refused: [] },
          tenant: { admitted: [], refused: [] },
        });
      }
    }

    const owned = await d.ownedAddresses();
    const leakedEips = owned.filter((a) => !a.associated).length;
    const enis = await d.region.ec2('DescribeNetworkInterfaces', {
      Filters: [
        { Name: 'tag:eip-autopilot:managed', Values: ['true'] },
        { Name: 'status', Values: ['available'] },
      ],
    });
    return {
      spec,
      convergedAt: [...converged.values()].map((ms) => ms / 1000).sort((a, b) => a - b),
      allOkAt,
      buckets,
      dlq: d.deadLetters.counts().visible,
      maxReceives,
      leakedEips,
      leakedEnis: enis.NetworkInterfaces?.length ?? 0,
      jumpedMs,
      wallMs: 0,
      asyncFailures: d.bus.deadLetters.length,
    };
  } finally {
    await d.close();
    clock.restore();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const spec = JSON.parse(process.argv[2] ?? '{}') as RunSpec;
  const started = performance.now();
  const result = await runBurst(spec);
  result.wallMs = Math.round(performance.now() - started);
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
  process.exit(0);
}
