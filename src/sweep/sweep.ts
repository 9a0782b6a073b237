import type { Address, Instance } from '@aws-sdk/client-ec2';
import type { Ec2Port } from '../aws/ec2-port';
import type { SsmPort } from '../aws/ssm-port';
import type { Config } from '../config';
import type { Job } from '../jobs/job';
import { logger } from '../logger';
import { desiredFromTags } from '../reconcile/desired';
import { ALL_ADDRESSES, toActual } from '../reconcile/observe';
import { CLOUD_KINDS, planInstance } from '../reconcile/plan';
import { Status } from '../reconcile/status';
import { TAG, tagRecord } from '../tags';

/** One instance the sweep found out of sync, and why. */
export interface Drift {
  instanceId: string;
  drift: string;
}

/** Result of one pass. */
export interface SweepResult {
  /** Instances carrying the count tag (plus those holding our addresses without it). */
  scanned: number;
  drifted: Drift[];
}

// EC2 accepts at most 200 values per filter.
const FILTER_VALUES = 200;

/**
 * Why one instance is out of sync, or undefined (pure). Runs the planner on the sweep's data without limits or
 * quota: any action, or a need for them, means a reconcile has work to do.
 */
export function driftOf(
  instanceId: string,
  instance: Instance | undefined,
  addresses: Address[],
  config: Pick<Config, 'countTagKey' | 'poolTagKey' | 'onStopTagKey'>,
): string | undefined {
  const actual = toActual(instanceId, instance, addresses);
  // The sweep asks only whether there is work, not how much fits: no quota limit here.
  const plan = planInstance(desiredFromTags(actual.tags, config), actual, {
    countTagKey: config.countTagKey,
    quota: Number.MAX_SAFE_INTEGER,
  });
  // A `syncing` instance whose cloud side is done: only its reconcile can ask SSM where the guest command stands.
  if (plan.missing.length === 1 && plan.missing[0] === 'guest-command') return 'guest-not-confirmed';
  if (plan.missing.length > 0) return 'missing-addresses';
  // The first cloud change says most; without one, the guest (a status write alone is the least telling).
  const work =
    plan.actions.find((a) => CLOUD_KINDS.has(a.kind)) ??
    plan.actions.find((a) => a.kind === 'sync-guest') ??
    plan.actions.find((a) => a.kind !== 'noop');
  return work ? work.reason : undefined;
}

/**
 * One pass over every instance with the count tag and every address we hold, with paginated, filtered describes
 * (never one call per instance): DescribeInstances pages of 1000, one DescribeAddresses, and one filtered
 * DescribeInstances per 200 instances that hold our addresses but no longer carry the tag. Instances whose status
 * says the guest agent was not registered, and whose only drift is the guest, are enqueued once SSM shows them
 * Online (one DescribeInstanceInformation per 50 of them, none without such instances): until then a job would only
 * meet InvalidInstanceId again. Reads only.
 */
export async function sweep(
  ec2: Ec2Port,
  ssm: Pick<SsmPort, 'onlineInstances'>,
  config: Pick<Config, 'countTagKey' | 'poolTagKey' | 'onStopTagKey'>,
): Promise<SweepResult> {
  const instances = new Map<string, Instance>();
  const addressesPromise = ec2.describeAddresses(ALL_ADDRESSES);
  for await (const page of ec2.describeInstancePages([{ Name: 'tag-key', Values: [config.countTagKey] }])) {
    for (const i of page) if (i.InstanceId) instances.set(i.InstanceId, i);
  }
  const addresses = await addressesPromise;

  // Index the addresses once: by the instance they are tagged for, by ENI, and free ones by pool.
  const byInstance = new Map<string, Address[]>();
  const byEni = new Map<string, Address[]>();
  const freePool = new Map<string, Address[]>();
  const push = (m: Map<string, Address[]>, k: string, a: Address) => {
    const list = m.get(k);
    if (list) list.push(a);
    else m.set(k, [a]);
  };
  for (const a of addresses) {
    const tags = tagRecord(a.Tags);
    const owner = tags[TAG.instanceId];
    if (owner) push(byInstance, owner, a);
    if (a.NetworkInterfaceId) push(byEni, a.NetworkInterfaceId, a);
    const pool = tags[TAG.pool];
    if (pool && !a.AssociationId && !owner) push(freePool, pool, a);
  }

  const untagged = [...byInstance.keys()].filter((id) => !instances.has(id)).sort();
  const found = new Map<string, Instance>();
  for (let i = 0; i < untagged.length; i += FILTER_VALUES) {
    const ids = untagged.slice(i, i + FILTER_VALUES);
    for await (const page of ec2.describeInstancePages([{ Name: 'instance-id', Values: ids }])) {
      for (const inst of page) if (inst.InstanceId) found.set(inst.InstanceId, inst);
    }
  }

  const drifted: Drift[] = [];
  const check = (id: string, instance: Instance | undefined) => {
    const related = new Set<Address>(byInstance.get(id) ?? []);
    for (const n of instance?.NetworkInterfaces ?? [])
      for (const a of byEni.get(n.NetworkInterfaceId ?? '') ?? []) related.add(a);
    const pool = instance ? tagRecord(instance.Tags)[config.poolTagKey]?.trim() : undefined;
    for (const a of pool ? (freePool.get(pool) ?? []) : []) related.add(a);
    const drift = driftOf(id, instance, [...related], config);
    if (drift) drifted.push({ instanceId: id, drift });
  };
  for (const [id, instance] of instances) check(id, instance);
  for (const id of untagged) check(id, found.get(id));
  const agentless = new Set(
    drifted
      .filter((d) => d.drift === 'guest-not-confirmed')
      .filter((d) => tagRecord(instances.get(d.instanceId)?.Tags)[TAG.status] === Status.agentPending())
      .map((d) => d.instanceId),
  );
  const online = agentless.size > 0 ? await ssm.onlineInstances([...agentless].sort()) : new Set<string>();
  const kept = drifted.flatMap((d) => {
    if (!agentless.has(d.instanceId)) return [d];
    return online.has(d.instanceId) ? [{ instanceId: d.instanceId, drift: 'guest-agent-online' }] : [];
  });
  kept.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  logger.info('sweep finished', {
    scanned: instances.size + untagged.length,
    drifted: kept.length,
    addresses: addresses.length,
    agentNotRegistered: agentless.size - online.size,
  });
  return { scanned: instances.size + untagged.length, drifted: kept };
}

/** Jobs for the drifted instances; the dedup id joins the sweep run id and the instance id. */
export function sweepJobs(result: SweepResult, runId: string): { job: Job; deduplicationId: string }[] {
  return result.drifted.map((d) => ({
    job: { instanceId: d.instanceId, reason: `sweep:${d.drift}` },
    deduplicationId: `${runId}-${d.instanceId}`,
  }));
}
