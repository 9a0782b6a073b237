import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FifoQueue } from '#local/sqs-fifo';
import type { World } from '#local/world';
import { context, FIXTURE_INSTANCE, fixture, lambdaEnv, lambdaWorld } from '../../helpers/lambda';

let world: World;
let queue: FifoQueue;
let handler: (event: unknown, ctx: typeof context) => Promise<unknown>;

beforeAll(async () => {
  lambdaEnv();
  ({ world, queue } = await lambdaWorld());
  const mod = await import('#functions/intake/handler');
  handler = (event, ctx) => mod.handler(event as never, ctx) as Promise<never>;
});
afterAll(() => world.mocks.restore());

function drain() {
  const got = queue.receive({ MaxNumberOfMessages: 10 });
  for (const m of got) queue.delete(m.ReceiptHandle);
  return got.map((m) => ({
    body: JSON.parse(m.Body),
    group: m.Attributes.MessageGroupId,
    dedup: m.Attributes.MessageDeduplicationId,
  }));
}

describe('Function: intake handler', () => {
  // The state-change fixtures share one event id; real events each have their own, so each case gets a fresh one
  // (else the queue's 5-minute dedup window would rightly drop the second).
  it.each([
    ['ec2-state-change-running', 'state-change:running'],
    ['ec2-state-change-terminated', 'state-change:terminated'],
    ['tag-change-on-instance', 'tag-change'],
    ['tag-change-key-deleted', 'tag-change'],
  ])('turns %s into one job in the instance group', async (name, reason) => {
    const id = `${name}-${Math.random().toString(16).slice(2)}`;
    await handler({ ...fixture<Record<string, unknown>>(name), id }, context);
    expect(drain()).toEqual([{ body: { instanceId: FIXTURE_INSTANCE, reason }, group: FIXTURE_INSTANCE, dedup: id }]);
  });

  it('enqueues a CloudTrail CreateTags of our key with a per-instance dedup id', async () => {
    await handler(fixture('cloudtrail-create-tags'), context);
    expect(drain()).toEqual([
      {
        body: { instanceId: FIXTURE_INSTANCE, reason: 'tag-change' },
        group: FIXTURE_INSTANCE,
        dedup: `9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f-${FIXTURE_INSTANCE}`,
      },
    ]);
  });

  it.each([['tag-change-on-volume'], ['ssm-command-invocation-status']])('ignores %s', async (name) => {
    await handler(fixture(name), context);
    expect(drain()).toEqual([]);
  });

  it('ignores a schedule event without any EC2 call (the sweep function owns the schedule)', async () => {
    await world.launch('t3.medium', { 'eip-count': '1' });
    world.mark();
    await handler(fixture('scheduled-event'), context);
    expect(drain()).toEqual([]);
    expect(world.since()).toEqual({ reads: [], writes: [] });
  });

  it('sends a duplicate event only once (FIFO dedup id = event id)', async () => {
    const event = { ...fixture<Record<string, unknown>>('ec2-state-change-pending'), id: 'duplicate-event-1' };
    await handler(event, context);
    await handler(event, context);
    expect(drain()).toHaveLength(1);
  });
});
