/**
 * The tag is there before the instance's SSM agent has registered (the usual case: tagged at launch). The first
 * reconcile places the EIPs, SendCommand answers InvalidInstanceId, the status says `pending` and the job ends (no
 * redelivery: a retried job would hold the instance's FIFO group for 5 x 12 minutes). The next scheduled sweep sees
 * the agent Online (DescribeInstanceInformation) and enqueues one job, which syncs the guest: `ok`, no manual step.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Deployment, startDeployment, type Trace } from '#local/deployment';
import { describeLab } from '../helpers/lab-gate';

describeLab('End to end: tagged before the SSM agent registers', () => {
  let d: Deployment;
  const traces: Trace[] = [];

  beforeAll(async () => {
    // Agents take tens of seconds to minutes to register (docs/aws-facts.md: no documented figure).
    d = await startDeployment({ guests: 'lab', agentRegistrationDelayMs: 90_000, sweepSchedule: true });
    d.onTrace((t) => traces.push(t));
  });
  afterAll(async () => {
    await d?.close();
  });

  it('pending, then ok after the next sweep, EIPs placed on the first attempt and working in the guest', async () => {
    const startedAt = d.now();
    const id = await d.launch('t3.micro', { 'eip-count': '2' });
    await d.settle(async () => (await d.statusOf(id)) === 'ok 2/2', { what: 'ok 2/2' });

    // The status is written before SendCommand (a fast guest must find `syncing` to turn into `ok`), so a refused
    // SendCommand shows as a short `syncing` followed by `pending`.
    expect(d.statusHistory(id)).toEqual([
      'syncing 2/2',
      'pending: guest agent not registered yet',
      'syncing 2/2',
      'ok 2/2',
    ]);
    const received = traces.flatMap((t) =>
      t.kind === 'log' && t.message === 'job received' && t.data.instanceId === id
        ? [[t.data.reason, t.data.receiveCount]]
        : [],
    );
    // Each job received once: the pending one was not redelivered; the sweep sent the second.
    expect(received.filter(([reason]) => reason !== 'state-change:pending')).toEqual([
      ['state-change:running', '1'],
      ['sweep:guest-agent-online', '1'],
    ]);
    // The cloud half did not wait for the agent: both addresses came with the first attempt.
    const allocations = d.region.calls.filter((c) => c.action === 'AllocateAddress' && c.ok);
    expect(allocations.every((c) => c.at - startedAt < 60_000)).toBe(true);
    expect(allocations).toHaveLength(2);
    expect(d.region.calls.filter((c) => c.action === 'SendCommand').map((c) => c.error ?? 'ok')).toEqual([
      'InvalidInstanceId',
      'ok',
    ]);
    // The second command came with the first sweep (rate(15 minutes)), on the driven clock.
    expect(d.now() - startedAt).toBeGreaterThanOrEqual(900_000);
    expect(d.deadLetters.counts().visible).toBe(0);
    const rows = await d.addresses(id);
    expect(rows.map((r) => r.egress)).toEqual(rows.map((r) => r.publicIp));
  });
});
