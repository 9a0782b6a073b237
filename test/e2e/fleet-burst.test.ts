/**
 * A launch burst against EC2's API rate limits, end to end: the real handlers over the wire, the stack's queue and
 * event source (MaximumConcurrency containers), the region's buckets shrunk far below what the reconciler's limiter
 * assumes (5 tokens, 1 per second for every mutating action), so reconciles are throttled mid-plan again and again.
 * Outcomes only (virtual time: no assertion on how long it took).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '#local/deployment';
import { startVirtualTime, type VirtualTime } from '#local/virtual-time';
import { Status } from '#src/reconcile/status';

const INSTANCES = 30;
const RANGES = Array.from({ length: 4 }, (_, i) => `198.18.${i}`);

describe('End to end: a burst of 30 instances × eip-count=3 with shrunk API buckets', () => {
  let d: Deployment;
  let vt: VirtualTime;
  const ids: string[] = [];

  beforeAll(async () => {
    vt = startVirtualTime();
    d = await startDeployment({
      eipQuota: 1_000,
      publicIpRanges: RANGES,
      rateLimits: { mutating: { capacity: 5, refillPerSecond: 1 } },
    });
    for (let batch = 0; batch < 3; batch++) {
      const out = await d.region.ec2('RunInstances', {
        ImageId: 'ami-1',
        InstanceType: 't3.medium',
        MinCount: INSTANCES / 3,
        MaxCount: INSTANCES / 3,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'eip-count', Value: '3' }] }],
      });
      ids.push(...(out.Instances ?? []).map((i) => i.InstanceId ?? ''));
    }
    await d.settle(() => ids.every((id) => d.statusHistory(id).at(-1) === Status.ok(3, 3)), {
      what: 'every instance ok 3/3',
      maxSimulatedMs: 6 * 3_600_000,
    });
  }, 600_000);
  afterAll(async () => {
    await d?.close();
    vt?.restore();
  });

  it('was throttled (the buckets were the limit), and every instance converged to ok 3/3', () => {
    const refused = (d.region.limits?.usage() ?? []).reduce((n, u) => n + u.refused.length, 0);
    expect(refused).toBeGreaterThan(0);
    expect(ids.filter((id) => d.statusHistory(id).at(-1) !== Status.ok(3, 3))).toEqual([]);
  });

  it('sent no job to the dead-letter queue and dropped no event', () => {
    expect(d.deadLetters.counts()).toEqual({ visible: 0, inFlight: 0 });
    expect(d.bus.deadLetters).toEqual([]);
  });

  it('leaked nothing: every owned EIP associated, 3 per instance, no unattached ENI of ours', async () => {
    const owned = await d.ownedAddresses();
    expect(owned.filter((a) => !a.associated)).toEqual([]);
    expect(owned).toHaveLength(3 * INSTANCES);
    for (const id of ids) expect(owned.filter((a) => a.instanceId === id)).toHaveLength(3);
    const enis = await d.region.ec2('DescribeNetworkInterfaces', {
      Filters: [
        { Name: 'tag:eip-autopilot:managed', Values: ['true'] },
        { Name: 'status', Values: ['available'] },
      ],
    });
    expect(enis.NetworkInterfaces).toEqual([]);
  });

  it('duplicated nothing: one AllocateAddress admitted per EIP', () => {
    const allocations = d.region.calls.filter((c) => c.action === 'AllocateAddress' && c.ok);
    expect(allocations).toHaveLength(3 * INSTANCES);
  });
});
