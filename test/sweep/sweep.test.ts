import { describe, expect, it } from 'vitest';
import { sweep, sweepJobs } from '#src/sweep/sweep';
import { makeFleet } from '#local/fleet';

const keys = { countTagKey: 'eip-count', poolTagKey: 'eip-pool', onStopTagKey: 'eip-on-stop' };

describe('Function: sweep', () => {
  it('finds nothing in a converged fleet, with paginated reads only', async () => {
    const fleet = makeFleet(2500);
    const result = await sweep(fleet.port, keys);
    expect(result).toEqual({ scanned: 2500, drifted: [] });
    expect(fleet.calls).toEqual(['DescribeAddresses', 'DescribeInstances', 'DescribeInstances', 'DescribeInstances']);
  });

  it('lists drifted instances and the instances of orphaned addresses', async () => {
    const fleet = makeFleet(1200, 2, 1);
    const result = await sweep(fleet.port, keys);
    expect(result.drifted).toEqual([
      { instanceId: 'i-00000000000000000', drift: 'address-without-eip' },
      { instanceId: 'i-00000000000000001', drift: 'address-without-eip' },
      { instanceId: 'i-dead0000000000000', drift: 'instance-gone' },
    ]);
    // 2 pages of tagged instances, 1 DescribeAddresses, 1 lookup of the orphans' instances.
    expect(fleet.calls).toHaveLength(4);
  });

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
