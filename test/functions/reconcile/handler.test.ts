import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FifoQueue } from '../../../local/sqs-fifo.js';
import { context, lambdaEnv, lambdaWorld } from '../../helpers/lambda';
import type { World } from '../../helpers/region';

let world: World;
let queue: FifoQueue;
let handler: (event: SQSEvent, ctx: typeof context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  lambdaEnv();
  ({ handler } = await import('../../../functions/reconcile/handler'));
});
afterEach(() => world.mocks.restore());

async function setup(opts: Parameters<typeof lambdaWorld>[0] = {}) {
  ({ world, queue } = await lambdaWorld(opts));
}

function send(body: string, group: string, dedup: string) {
  queue.send({ MessageBody: body, MessageGroupId: group, MessageDeduplicationId: dedup });
}

describe('Function: reconcile handler', () => {
  it('reconciles the instance named by each job and reports no failures', async () => {
    await setup();
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    send(JSON.stringify({ instanceId: id, reason: 'tag-change' }), id, 'e1');
    const batch = queue.receive({ MaxNumberOfMessages: 10 });
    const response = await handler(queue.toEvent(batch), context);
    expect(response).toEqual({ batchItemFailures: [] });
    const owned = await world.deps.ec2.describeAddresses([{ Name: 'tag:eip-autopilot:instance-id', Values: [id] }]);
    expect(owned.filter((a) => a.AssociationId)).toHaveLength(2);
  });

  it('fails a bad job clearly so it reaches the dead-letter queue, and still processes other groups', async () => {
    await setup();
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    send('{"instanceId":"not-an-id"}', 'bad', 'e2');
    send(JSON.stringify({ instanceId: id, reason: 'tag-change' }), id, 'e3');
    const batch = queue.receive({ MaxNumberOfMessages: 10 });
    const response = await handler(queue.toEvent(batch), context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: batch[0]?.MessageId }]);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('syncing 1/1');
  });

  it('fails the job (for redelivery) while the guest agent is not registered', async () => {
    await setup({ agentRegistrationDelayMs: 600_000 });
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    send(JSON.stringify({ instanceId: id, reason: 'state-change:running' }), id, 'e4');
    const batch = queue.receive({ MaxNumberOfMessages: 10 });
    const response = await handler(queue.toEvent(batch), context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: batch[0]?.MessageId }]);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('pending: guest agent not registered yet');
  });
});
