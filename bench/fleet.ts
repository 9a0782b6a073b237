/**
 * `npm run bench -- fleet [--instances 1000] [--share 0.6] [--alternatives]`: an Auto Scaling burst
 * against EC2's API rate limits. Launches `--instances` (default 100) t3.medium instances tagged `eip-count=3` within
 * 10 s, with a tenant (the account's other tools) spending 2 CreateTags/s and 1 AssociateAddress/s, and prints how
 * long until every instance reads `ok 3/3` against the physical bound, throttling seen by us and by the tenant, DLQ,
 * receives, leaks, and the peak share of each bucket we used; the same burst with the limits off beside it; and a
 * chart (SVG under .bench/). `--alternatives` also runs the throttling designs that were compared (docs/reconciler.md).
 * Then a sweep over 100,000 instances in sync. Prints numbers; asserts nothing.
 *
 * Each burst runs in its own process (one local deployment per process) on a virtual clock (`local/virtual-time.ts`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TAG_KEYS } from '#src/config';
import { logger } from '#src/logger';
import { sweep } from '#src/sweep/sweep';
import { makeFleet } from '#local/fleet';
import { STACK_ROOT } from '#local/stack/package';
import { chartSvg, type Panel, ratePoints } from './chart';
import type { BucketRun, RunResult, RunSpec } from './fleet-run';

const MUTATING = /^ec2:(?!Describe|Get|List)/;
const TENANT = { CreateTags: 2, AssociateAddress: 1 };

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

function child(spec: RunSpec): RunResult {
  const out = spawnSync(process.execPath, ['--import', 'tsx', join('bench', 'fleet-run.ts'), JSON.stringify(spec)], {
    cwd: STACK_ROOT,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const last = out.stdout.trim().split('\n').at(-1) ?? '';
  if (out.status !== 0 || !last.startsWith('{'))
    throw new Error(`fleet run "${spec.label}" failed (${out.status}):\n${out.stderr.slice(-4000)}`);
  return JSON.parse(last) as RunResult;
}

/** The physical bound: for each mutating action, (calls needed − bucket) ÷ (refill × share); the largest. */
export function physicalBound(buckets: BucketRun[], share: number): { seconds: number; action: string } {
  let best = { seconds: 0, action: '-' };
  for (const b of buckets.filter((x) => MUTATING.test(x.key))) {
    const needed = b.ours.admitted.length;
    const seconds = Math.max(0, needed - b.capacity) / (b.refillPerSecond * share);
    if (seconds > best.seconds) best = { seconds, action: b.key.replace(/^ec2:/, '') };
  }
  return best;
}

/** Largest share of the bucket's refill rate our requests used over any `window`-second span. */
function peakShare(b: BucketRun, window = 60): number {
  const t = [...b.ours.admitted].sort((x, y) => x - y);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while ((t[hi] as number) - (t[lo] as number) >= window) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best / (b.refillPerSecond * window);
}

interface Row {
  metric: string;
  values: string[];
  target: string;
}

/** One run's numbers as table cells; the bound is always taken at `share` (the parameter's value) to compare. */
function summarize(r: RunResult, share: number) {
  const bound = physicalBound(r.buckets, share);
  const ourWrites = r.buckets.filter((b) => MUTATING.test(b.key)).reduce((n, b) => n + b.ours.admitted.length, 0);
  const ourRefused = r.buckets.reduce((n, b) => n + b.ours.refused.length, 0);
  const tenantSent = r.buckets.reduce((n, b) => n + b.tenant.admitted.length + b.tenant.refused.length, 0);
  const tenantRefused = r.buckets.reduce((n, b) => n + b.tenant.refused.length, 0);
  const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)} %`);
  return {
    converged: `${r.convergedAt.length}/${r.spec.instances}`,
    allOk: r.allOkAt === undefined ? 'not within the run' : `${r.allOkAt.toFixed(0)} s`,
    bound: `${bound.seconds.toFixed(0)} s (${bound.action})`,
    ratio: r.allOkAt === undefined || bound.seconds === 0 ? '-' : (r.allOkAt / bound.seconds).toFixed(2),
    ourThrottled: r.spec.limits ? `${ourRefused} (${pct(ourRefused, ourWrites)} of ${ourWrites} writes)` : '-',
    tenant: r.spec.limits ? `${tenantRefused} of ${tenantSent} (${pct(tenantRefused, tenantSent)})` : '-',
    dlq: String(r.dlq),
    receives: String(r.maxReceives),
    leaks: `${r.leakedEips} / ${r.leakedEnis}`,
    wall: `${(r.wallMs / 1000).toFixed(0)} s`,
    jumped: `${(r.jumpedMs / 1000).toFixed(0)} s`,
  };
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const line of [head, ...rows]) console.log(line.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  '));
}

function chart(on: RunResult, off: RunResult, file: string): void {
  const bound = physicalBound(on.buckets, on.spec.share);
  const xMax = Math.max(10, (on.allOkAt ?? on.convergedAt.at(-1) ?? 0) * 1.05, bound.seconds * 1.1);
  const curve = (r: RunResult): [number, number][] => [
    [0, 0],
    ...r.convergedAt.map((t, i): [number, number] => [t, i + 1]),
  ];
  const panels: Panel[] = [
    {
      title: `instances at ok 3/3 (${on.spec.instances} launched in ${on.spec.burstSeconds} s)`,
      yLabel: 'instances',
      series: [
        { name: 'limits on (AWS buckets + tenant)', color: '#1f77b4', points: curve(on) },
        { name: 'limits off', color: '#7f7f7f', dashed: true, points: curve(off) },
      ],
      markers: [{ x: bound.seconds, label: `physical bound ${bound.seconds.toFixed(0)} s`, color: '#d62728' }],
    },
  ];
  const keys = on.buckets
    .filter((b) => b.ours.admitted.length + b.tenant.admitted.length > 0)
    .sort((a, b) => Number(MUTATING.test(b.key)) - Number(MUTATING.test(a.key)) || a.key.localeCompare(b.key));
  for (const b of keys) {
    const flat = (y: number): [number, number][] => [
      [0, y],
      [xMax, y],
    ];
    panels.push({
      title: `${b.key.replace(/^ec2:/, 'EC2 ')}: requests/s (10 s average)`,
      yLabel: 'requests/s',
      series: [
        { name: 'ours', color: '#1f77b4', points: ratePoints(b.ours.admitted, xMax) },
        { name: 'tenant', color: '#ff7f0e', points: ratePoints(b.tenant.admitted, xMax) },
        {
          name: 'throttled (ours + tenant)',
          color: '#9467bd',
          points: ratePoints([...b.ours.refused, ...b.tenant.refused], xMax),
        },
        { name: `refill ${b.refillPerSecond}/s`, color: '#d62728', dashed: true, points: flat(b.refillPerSecond) },
        {
          name: `our share ${on.spec.share} × refill`,
          color: '#2ca02c',
          dashed: true,
          points: flat(b.refillPerSecond * on.spec.share),
        },
      ],
    });
  }
  const svg = chartSvg(
    `eip-autopilot fleet burst: ${on.spec.instances} instances × eip-count=3`,
    `clock: virtual (discrete-event: CPU time does not count); tenant ${JSON.stringify(TENANT)} per s`,
    panels,
    xMax,
  );
  writeFileSync(file, svg);
}

async function sweep100k(): Promise<void> {
  const level = logger.getLevelName();
  logger.setLogLevel('SILENT');
  try {
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const fleet = makeFleet(100_000);
    const built = process.memoryUsage().heapUsed;
    const started = performance.now();
    const result = await sweep(fleet.port, fleet.ssm, DEFAULT_TAG_KEYS);
    const ms = performance.now() - started;
    const after = process.memoryUsage().heapUsed;
    const byName = new Map<string, number>();
    for (const c of fleet.calls) byName.set(c, (byName.get(c) ?? 0) + 1);
    console.log('\n## sweep over 100,000 instances in sync (synthetic fleet behind the EC2 port, local/fleet.ts)');
    printTable(
      ['calls', 'of which', 'writes', 'jobs', 'wall', 'heap: fleet / sweep', 'target'],
      [
        [
          String(fleet.calls.length),
          [...byName].map(([name, n]) => `${n} ${name}`).join(', '),
          '0',
          String(result.drifted.length),
          `${ms.toFixed(0)} ms`,
          `${((built - before) / 2 ** 20).toFixed(0)} MB / ${(Math.max(0, after - built) / 2 ** 20).toFixed(0)} MB`,
          '<= 110 calls, 0 writes',
        ],
      ],
    );
  } finally {
    logger.setLogLevel(level as never);
  }
}

/** Runs the fleet bench. */
export async function run(): Promise<void> {
  const instances = arg('instances', 100);
  const share = arg('share', 0.6);
  const base: RunSpec = {
    label: 'limits on',
    instances,
    limits: true,
    share,
    concurrency: 5,
    retryInInvocation: true,
    tenant: TENANT,
    burstSeconds: 10,
    maxMs: 4 * 3_600_000,
  };
  const on = child(base);
  const off = child({ ...base, label: 'limits off', limits: false });
  const a = summarize(on, share);
  const b = summarize(off, share);
  console.log(
    `\n## fleet burst: ${instances} × t3.medium eip-count=3 launched within 10 s, tenant 2 CreateTags/s + 1 ` +
      `AssociateAddress/s`,
  );
  console.log("clock: virtual (local/virtual-time.ts) — Date and timers of the run's process stand still while it");
  console.log(
    '       computes or waits on the wire, and jump to the next timer when it is quiet: AWS time, not CPU time',
  );
  const rows: Row[] = [
    { metric: 'instances at ok 3/3', values: [a.converged, b.converged], target: 'all' },
    { metric: 'time until every instance reads ok 3/3', values: [a.allOk, b.allOk], target: '' },
    { metric: 'physical bound (binding action)', values: [a.bound, b.bound], target: '' },
    { metric: 'measured ÷ bound', values: [a.ratio, b.ratio], target: '<= 1.25' },
    { metric: 'RequestLimitExceeded seen by us', values: [a.ourThrottled, '-'], target: '<= 10 % of our writes' },
    { metric: 'tenant requests refused', values: [a.tenant, '-'], target: '<= 1 %' },
    { metric: 'jobs in the DLQ', values: [a.dlq, b.dlq], target: '0' },
    { metric: 'receives per job (max)', values: [a.receives, b.receives], target: '' },
    { metric: 'leaked EIPs / ENIs', values: [a.leaks, b.leaks], target: '0 / 0' },
    { metric: 'clock skipped while idle (redelivery waits)', values: [a.jumped, b.jumped], target: '' },
    { metric: 'wall time of the run', values: [a.wall, b.wall], target: '' },
  ];
  for (const bucket of on.buckets.filter((x) => MUTATING.test(x.key))) {
    const offBucket = off.buckets.find((x) => x.key === bucket.key);
    rows.push({
      metric: `peak 60 s share of ${bucket.key.replace(/^ec2:/, '')} (${bucket.ours.admitted.length} calls)`,
      values: [peakShare(bucket).toFixed(2), offBucket ? peakShare(offBucket).toFixed(2) : '-'],
      // Our burst (share × bucket) lands within one window: share + share × capacity ÷ (refill × 60).
      target: `<= ${(share + (share * bucket.capacity) / (bucket.refillPerSecond * 60)).toFixed(2)} (${share} + burst)`,
    });
  }
  printTable(
    ['', 'limits on', 'limits off', 'target'],
    rows.map((r) => [r.metric, ...r.values, r.target]),
  );
  const dir = join(STACK_ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fleet-${instances}.svg`);
  chart(on, off, file);
  console.log(`chart: ${file}`);

  if (process.argv.includes('--alternatives')) {
    const variants: RunSpec[] = [
      { ...base, label: 'no limiter, retry = SQS redelivery (before)', share: 0, retryInInvocation: false },
      { ...base, label: 'no limiter, retry within the invocation', share: 0 },
      { ...base, label: `limiter ${share}, retry = SQS redelivery`, retryInInvocation: false },
      { ...base, label: `concurrency 2, no limiter, retry within`, share: 0, concurrency: 2 },
      { ...base, label: `limiter ${share}, retry within the invocation (chosen)` },
    ];
    const results = variants.map((v) => ({ v, s: summarize(v === variants.at(-1) ? on : child(v), share) }));
    console.log(`\n## throttling designs compared (${instances} instances, limits on, same tenant)`);
    printTable(
      ['design', 'all ok 3/3', 'bound', '÷ bound', 'our throttled', 'tenant refused', 'DLQ', 'max receives', 'leaks'],
      results.map(({ v, s }) => [
        v.label,
        s.allOk,
        s.bound,
        s.ratio,
        s.ourThrottled,
        s.tenant,
        s.dlq,
        s.receives,
        s.leaks,
      ]),
    );
  }
  await sweep100k();
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
