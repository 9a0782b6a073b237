import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FifoQueue } from '#local/sqs-fifo';
import { reconcileInstance } from '#src/reconcile/reconcile';
import { context, fixture, lambdaEnv, lambdaWorld } from '../../helpers/lambda';
import type { World } from '#local/world';

let world: World;
let queue: FifoQueue;
let handler: (event: unknown, ctx: typeof context) => Promise<{ scanned: number; drifted: number; enqueued: number }>;

beforeAll(async () => {
  lambdaEnv();
  ({ world, queue } = await lambdaWorld());
  const mod = await import('#functions/sweep/handler');
  handler = (event, ctx) => mod.handler(event as never, ctx) as Promise<never>;
});
afterAll(() => world.mocks.restore());

describe('Function: sweep handler', () => {
  it('enqueues drifted instances and orphaned addresses, not converged ones', async () => {
    const synced = await world.launch('t3.medium', { 'eip-count': '1' });
    await reconcileInstance(synced, world.deps);
    await world.settleGuest();
    const fresh = await world.launch('t3.medium', { 'eip-count': '2' });
    const gone = await world.launch('t3.micro', { 'eip-count': '1' });
    await reconcileInstance(gone, world.deps);
    await world.region.ec2('TerminateInstances', { InstanceIds: [gone] });
    world.region.tick();

    const result = await handler(fixture('scheduled-event'), context);

    const jobs = queue.receive({ MaxNumberOfMessages: 10 }).map((m) => JSON.parse(m.Body));
    expect(jobs.sort((a, b) => a.instanceId.localeCompare(b.instanceId))).toEqual(
      [
        { instanceId: fresh, reason: 'sweep:missing-addresses' },
        { instanceId: gone, reason: 'sweep:instance-terminated' },
      ].sort((a, b) => a.instanceId.localeCompare(b.instanceId)),
    );
    expect(result).toEqual({ scanned: 3, drifted: 2, enqueued: 2 });
  });
});
