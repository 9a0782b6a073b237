/**
 * The tag is there before the instance's SSM agent has registered (the usual case: tagged at launch). The first
 * reconcile places the EIPs, SendCommand answers InvalidInstanceId, the status says `pending` and the job is left to
 * SQS; it comes back after the queue's visibility timeout (infra/queue.yml: 12 minutes, on the driven clock) and the
 * guest is synced: `ok`, with no manual step.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Deployment, startDeployment, type Trace } from '#local/deployment';
import { describeLab } from '../helpers/lab-gate';

describeLab('End to end: tagged before the SSM agent registers', () => {
  let d: Deployment;
  const traces: Trace[] = [];

  beforeAll(async () => {
    // Agents take tens of seconds to minutes to register (FACTS.md: no documented figure).
    d = await startDeployment({ guests: 'lab', agentRegistrationDelayMs: 90_000 });
    d.onTrace((t) => traces.push(t));
  });
  afterAll(async () => {
    await d?.close();
  });

  it('pending, then ok after the SQS redelivery, EIPs placed on the first attempt and working in the guest', async () => {
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
    const received = traces.filter(
      (t) => t.kind === 'log' && t.message === 'job received' && t.data.reason === 'state-change:running',
    );
    expect(received.map((t) => (t.kind === 'log' ? t.data.receiveCount : undefined))).toEqual(['1', '2']);
    // The cloud half did not wait for the agent: both addresses came with the first attempt.
    const allocations = d.region.calls.filter((c) => c.action === 'AllocateAddress' && c.ok);
    expect(allocations.every((c) => c.at - startedAt < 60_000)).toBe(true);
    expect(allocations).toHaveLength(2);
    expect(d.region.calls.filter((c) => c.action === 'SendCommand').map((c) => c.error ?? 'ok')).toEqual([
      'InvalidInstanceId',
      'ok',
    ]);
    // The redelivery came after the queue's 12-minute visibility timeout, on the driven clock.
    expect(d.now() - startedAt).toBeGreaterThanOrEqual(720_000);
    const rows = await d.addresses(id);
    expect(rows.map((r) => r.egress)).toEqual(rows.map((r) => r.publicIp));
  });
});
