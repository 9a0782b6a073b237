import { describe, expect, it } from 'vitest';
import { sweep, sweepJobs } from '#src/sweep/sweep';
import { makeFleet } from '#local/fleet';

const keys = { countTagKey: 'eip-count', poolTagKey: 'eip-pool', onStopTagKey: 'eip-on-stop' };

describe('Function: sweep', () => {
  it('finds nothing in a converged fleet, with paginated reads only', async () => {
    const fleet = makeFleet(2500);
    const result = await sweep(fleet.port, fleet.ssm, keys);
    expect(result).toEqual({ scanned: 2500, drifted: [] });
    expect(fleet.calls).toEqual(['DescribeAddresses', 'DescribeInstances', 'DescribeInstances', 'DescribeInstances']);
  });

  it('lists drifted instances and the instances of orphaned addresses', async () => {
    const fleet = makeFleet(1200, 2, 1);
    const result = await sweep(fleet.port, fleet.ssm, keys);
    expect(result.drifted).toEqual([
      { instanceId: 'i-00000000000000000', drift: 'address-without-eip' },
      { instanceId: 'i-00000000000000001', drift: 'address-without-eip' },
      { instanceId: 'i-dead0000000000000', drift: 'instance-gone' },
    ]);
    // 2 pages of tagged instances, 1 DescribeAddresses, 1 lookup of the orphans' instances.
    expect(fleet.calls).toHaveLength(4);
  });

  // A job for an instance whose agent is not registered ends with status pending (SendCommand: InvalidInstanceId).
  // Enqueuing it on every sweep would only fail again: it is sent once SSM shows the agent Online.
  it(
    'enqueues a pending instance only once SSM shows its agent Online, asking SSM about pending ones ' + 'only',
    async () => {
      const fleet = makeFleet(300);
      const pending = fleet.instances.slice(0, 120).map((i) => i.InstanceId ?? '');
      for (const i of fleet.instances.slice(0, 120))
        i.Tags = [
          { Key: 'eip-count', Value: '1' },
          { Key: 'eip-autopilot:status', Value: 'pending: guest agent not registered yet' },
        ];
      fleet.online.add(pending[7] ?? '');
      fleet.online.add(pending[100] ?? '');
      const result = await sweep(fleet.port, fleet.ssm, keys);
      expect(result.drifted).toEqual([
        { instanceId: pending[7], drift: 'guest-agent-online' },
        { instanceId: pending[100], drift: 'guest-agent-online' },
      ]);
      // 120 pending instances: 3 DescribeInstanceInformation calls of at most 50 ids each.
      expect(fleet.calls.filter((c) => c === 'DescribeInstanceInformation')).toHaveLength(3);
      expect(fleet.calls.filter((c) => c !== 'DescribeInstanceInformation')).toHaveLength(2);
    },
  );

  it(
    'enqueues a pending instance that has cloud work whatever SSM says, and asks SSM nothing without pending ' + 'ones',
    async () => {
      const fleet = makeFleet(3);
      const [first] = fleet.instances;
      if (first)
        first.Tags = [
          { Key: 'eip-count', Value: '2' },
          { Key: 'eip-autopilot:status', Value: 'pending: guest agent not registered yet' },
        ];
      const result = await sweep(fleet.port, fleet.ssm, keys);
      expect(result.drifted).toEqual([{ instanceId: first?.InstanceId, drift: 'missing-addresses' }]);
      expect(fleet.calls).not.toContain('DescribeInstanceInformation');
    },
  );

  it('builds one job per drifted instance, deduplicated per sweep run', () => {
    expect(
      sweepJobs(
        { scanned: 1, drifted: [{ instanceId: 'i-00000000000000001', drift: 'above-desired-count' }] },
        'run-1',
      ),
    ).toEqual([
      {
        job: { instanceId: 'i-00000000000000001', reason: 'sweep:above-desired-count' },
        deduplicationId: 'run-1-i-00000000000000001',
      },
    ]);
  });
});
