import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { manualClock } from '#local/region/model/index';
import { deliverOnce, FifoQueue } from '#local/sqs-fifo';

const job = (instanceId: string, n: number) => ({
  MessageBody: JSON.stringify({ instanceId, reason: `tag-change-${n}` }),
  MessageGroupId: instanceId,
  MessageDeduplicationId: `${instanceId}-${n}`,
});

describe('Class: FifoQueue', () => {
  it('keeps at most one message per group in flight, in send order', () => {
    const queue = new FifoQueue({ name: 'jobs.fifo', clock: manualClock().now });
    queue.send(job('i-a', 1));
    queue.send(job('i-a', 2));
    queue.send(job('i-b', 1));
    const first = queue.receive({ MaxNumberOfMessages: 10 });
    expect(first.map((m) => JSON.parse(m.Body).reason + m.Attributes.MessageGroupId)).toEqual([
      'tag-change-1i-a',
      'tag-change-1i-b',
    ]);
    expect(queue.receive({ MaxNumberOfMessages: 10 })).toEqual([]);
    queue.delete(first[0]?.ReceiptHandle);
    expect(queue.receive({ MaxNumberOfMessages: 10 }).map((m) => JSON.parse(m.Body).reason)).toEqual(['tag-change-2']);
  });

  it('drops a duplicate deduplication id inside the 5-minute window and accepts it after', () => {
    const clock = manualClock();
    const queue = new FifoQueue({ name: 'jobs.fifo', clock: clock.now });
    const a = queue.send(job('i-a', 1));
    const b = queue.send(job('i-a', 1));
    expect(b.MessageId).toBe(a.MessageId);
    expect(queue.counts().visible).toBe(1);
    clock.advance(300_000);
    expect(queue.send(job('i-a', 1)).MessageId).not.toBe(a.MessageId);
    expect(() => queue.send({ MessageBody: 'x', MessageGroupId: 'g' })).toThrow(
      expect.objectContaining({ name: 'InvalidParameterValue' }),
    );
    expect(() => queue.send({ MessageBody: 'x' })).toThrow(expect.objectContaining({ name: 'MissingParameter' }));
  });

  it('redelivers after the visibility timeout and moves to the DLQ after maxReceiveCount', () => {
    const clock = manualClock();
    const dlq = new FifoQueue({ name: 'jobs-dlq.fifo', clock: clock.now });
    const queue = new FifoQueue({
      name: 'jobs.fifo',
      clock: clock.now,
      visibilityTimeoutMs: 1_000,
      maxReceiveCount: 2,
      deadLetterQueue: dlq,
    });
    queue.send(job('i-a', 1));
    queue.send(job('i-a', 2));
    expect(queue.receive()[0]?.Attributes.ApproximateReceiveCount).toBe('1');
    clock.advance(999);
    expect(queue.receive()).toEqual([]);
    clock.advance(1);
    expect(queue.receive()[0]?.Attributes.ApproximateReceiveCount).toBe('2');
    clock.advance(1_000);
    const next = queue.receive();
    expect(JSON.parse(next[0]?.Body ?? '{}').reason).toBe('tag-change-2');
    expect(dlq.receive().map((m) => JSON.parse(m.Body).reason)).toEqual(['tag-change-1']);
  });
});

describe('Class: FifoQueue › receivable and nextVisibleAt (for a driver of a manual clock)', () => {
  it('counts only group heads with nothing in flight, and says when the in-flight one comes back', () => {
    const clock = manualClock();
    const queue = new FifoQueue({ name: 'jobs.fifo', clock: clock.now, visibilityTimeoutMs: 720_000 });
    queue.send(job('i-a', 1));
    queue.send(job('i-a', 2));
    queue.send(job('i-b', 1));
    expect(queue.receivable()).toBe(2);
    expect(queue.nextVisibleAt()).toBeUndefined();
    queue.receive({ MaxNumberOfMessages: 10 });
    // i-a's second job is visible but waits behind the first one's redelivery.
    expect(queue.counts()).toEqual({ visible: 1, inFlight: 2 });
    expect(queue.receivable()).toBe(0);
    expect(queue.nextVisibleAt()).toBe(clock.now() + 720_000);
    clock.advance(720_000);
    expect(queue.receivable()).toBe(2);
  });
});

describe('Function: deliverOnce', () => {
  it('deletes successes and keeps batchItemFailures for redelivery after the visibility timeout', async () => {
    const clock = manualClock();
    const queue = new FifoQueue({ name: 'jobs.fifo', clock: clock.now, visibilityTimeoutMs: 1_000 });
    queue.send(job('i-a', 1));
    queue.send(job('i-b', 1));
    const seen: string[] = [];
    const handler = async (event: SQSEvent) => {
      for (const r of event.Records) seen.push(r.attributes.MessageGroupId ?? '');
      const failed = event.Records.filter((r) => r.attributes.MessageGroupId === 'i-b');
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
    };
    expect(await deliverOnce(queue, handler)).toBe(2);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 1 });
    expect(await deliverOnce(queue, handler)).toBe(0);
    clock.advance(1_000);
    expect(await deliverOnce(queue, handler)).toBe(1);
    expect(seen).toEqual(['i-a', 'i-b', 'i-b']);
  });

  it('fails the whole batch when the handler throws', async () => {
    const queue = new FifoQueue({ name: 'jobs.fifo', clock: manualClock().now });
    queue.send(job('i-a', 1));
    await deliverOnce(queue, async () => {
      throw new Error('boom');
    });
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 1 });
  });
});
