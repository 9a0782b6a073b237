/**
 * Cloud reconciler benchmark: API calls per reconcile and per sweep. Prints a table; asserts nothing.
 * Reconciles run against the local region model (the same one the tests use) through the real SDK adapters;
 * the sweep runs over a synthetic fleet of 10,000 instances behind the EC2 port.
 */
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { DEFAULT_TAG_KEYS } from '#src/config';
import { logger } from '#src/logger';
import { clearCaches, jobOptions, reconcileInstance } from '#src/reconcile/reconcile';
import { sweep } from '#src/sweep/sweep';
import { makeFleet } from '#local/fleet';
import { makeWorld } from '#local/world';

interface Row {
  case: string;
  reads: number;
  ec2Writes: number;
  ssm: number;
  total: number;
  target: string;
}

async function fresh(n: number, type: string, warm: boolean): Promise<Row[]> {
  clearCaches();
  const world = await makeWorld({ eipQuota: 100 });
  try {
    if (warm) {
      // Another instance of the same type, asking for more than the default quota of 5, fills the type-limits and
      // quota caches first, as in a warm Lambda container.
      const other = await world.launch(type, { 'eip-count': '6' });
      await reconcileInstance(other, world.deps);
    }
    const id = await world.launch(type, { 'eip-count': String(n) });
    world.mark();
    await reconcileInstance(id, world.deps);
    const first = world.since();
    await world.settleGuest();
    world.mark();
    await reconcileInstance(id, world.deps);
    const steady = world.since();
    const ssm = first.writes.filter((w) => w === 'SendCommand').length;
    const ec2Writes = first.writes.length - ssm;
    const rows: Row[] = [
      {
        case: `fresh N=${n} ${type}${warm ? ' (warm: type + quota cached)' : ' (cold container)'}`,
        reads: first.reads.length,
        ec2Writes,
        ssm,
        total: first.reads.length + first.writes.length,
        target:
          `all ${first.reads.length + first.writes.length}, EC2 ${first.reads.length + ec2Writes} <= ` + `${2 * n + 5}`,
      },
    ];
    if (warm) {
      rows.push({
        case: `steady rerun N=${n}`,
        reads: steady.reads.length,
        ec2Writes: steady.writes.length,
        ssm: 0,
        total: steady.reads.length + steady.writes.length,
        target: '2 reads + 0 writes',
      });
    }
    return rows;
  } finally {
    world.mocks.restore();
    clearCaches();
  }
}

/**
 * EC2 calls of the job a state change of an instance that is not ours becomes (no count tag, no status tag): the
 * reconcile handler's options for an event job, on every state the rule routes.
 */
async function untagged(): Promise<Row> {
  clearCaches();
  const world = await makeWorld({ eipQuota: 100 });
  try {
    const id = await world.launch('t3.medium', { Name: 'not-ours' });
    const calls: string[] = [];
    for (const state of ['running', 'stopping', 'stopped', 'shutting-down', 'terminated']) {
      world.mark();
      await reconcileInstance(id, world.deps, jobOptions({ reason: `state-change:${state}` }, `msg-${state}`));
      const { reads, writes } = world.since();
      calls.push(`${[...reads, ...writes].join('+') || 'none'}`);
      if (state === 'running') await world.region.ec2('StopInstances', { InstanceIds: [id] });
      if (state === 'stopped') await world.region.ec2('TerminateInstances', { InstanceIds: [id] });
      world.region.tick();
    }
    const distinct = [...new Set(calls)];
    const per = distinct.length === 1 ? distinct[0] : calls.join(', ');
    const reads = calls.map((c) => c.split('+').filter((x) => /^(Describe|List|Get)/.test(x)).length);
    return {
      case: `state change of an untagged instance (5 states; each: ${per})`,
      reads: Math.max(...reads),
      ec2Writes: 0,
      ssm: 0,
      total: Math.max(...calls.map((c) => c.split('+').length)),
      target: '1 DescribeInstances, nothing else',
    };
  } finally {
    world.mocks.restore();
    clearCaches();
  }
}

/** Prints API calls per fresh and steady reconcile (N = 1, 3, 8) and per sweep over 10,000 instances. */
export async function run(): Promise<void> {
  const level = logger.getLevelName();
  logger.setLogLevel('SILENT');
  try {
    const rows: Row[] = [];
    for (const [n, type] of [
      [1, 't3.medium'],
      [3, 't3.medium'],
      [8, 'm5.large'],
    ] as const) {
      rows.push(...(await fresh(n, type, false)), ...(await fresh(n, type, true)));
    }
    rows.push(await untagged());
    const fleet = makeFleet(10_000);
    const started = performance.now();
    const result = await sweep(fleet.port, fleet.ssm, DEFAULT_TAG_KEYS);
    const ms = performance.now() - started;
    rows.push({
      case: `sweep 10,000 instances (${result.drifted.length} drifted, ${ms.toFixed(0)} ms CPU)`,
      reads: fleet.calls.length,
      ec2Writes: 0,
      ssm: 0,
      total: fleet.calls.length,
      target: '<= 12',
    });
    const drifted = makeFleet(10_000, 100, 50);
    await sweep(drifted.port, drifted.ssm, DEFAULT_TAG_KEYS);
    rows.push({
      case: 'sweep 10,000 (100 drifted, 50 orphans)',
      reads: drifted.calls.length,
      ec2Writes: 0,
      ssm: 0,
      total: drifted.calls.length,
      target: '<= 12',
    });

    console.log('\n## cloud reconciler: API calls');
    const head = ['case', 'reads', 'EC2 writes', 'SSM', 'total', 'target'];
    const cells = rows.map((r) => [
      r.case,
      String(r.reads),
      String(r.ec2Writes),
      String(r.ssm),
      String(r.total),
      r.target,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
    for (const line of [head, ...cells]) console.log(line.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  '));
  } finally {
    logger.setLogLevel(level as LogLevel);
  }
}

// Runnable on its own: `npx tsx bench/cloud.ts`.
if (import.meta.url === `file://${process.argv[1]}`) await run();
