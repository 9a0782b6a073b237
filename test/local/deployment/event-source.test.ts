import { describe, expect, it } from 'vitest';
import { lambdaContext } from '#local/deployment';
import { startEventSource } from '#local/deployment/event-source';
import { FifoQueue } from '#local/sqs-fifo';

const job = (instanceId: string, n: number) => ({
  MessageBody: JSON.stringify({ instanceId, reason: `r${n}` }),
  MessageGroupId: instanceId,
  MessageDeduplicationId: `${instanceId}-${n}`,
});

describe('Function: startEventSource', () => {
  it('runs up to MaximumConcurrency containers, never two jobs of one group at once', async () => {
    const queue = new FifoQueue({ name: 'jobs.fifo' });
    const groups = ['i-a', 'i-b', 'i-c', 'i-d', 'i-e', 'i-f', 'i-g'];
    for (let n = 0; n < 70; n++) queue.send(job(groups[n % groups.length] ?? '', n));
    const running = new Set<string>();
    let overlap = false;
    let handled = 0;
    let peak = 0;
    let containers = 0;
    const source = startEventSource({
      queue,
      batchSize: 1,
      maxConcurrency: 5,
      context: () => lambdaContext('reconcile'),
      container: () => {
        containers += 1;
        return async (event) => {
          for (const r of event.Records) {
            const group = r.attributes.MessageGroupId ?? '';
            if (running.has(group)) overlap = true;
            running.add(group);
            peak = Math.max(peak, running.size);
            await new Promise((resolve) => setTimeout(resolve, 2));
            running.delete(group);
            handled++;
          }
          return { batchItemFailures: [] };
        };
      },
      pollMs: 1,
    });
    while (queue.counts().visible + queue.counts().inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    await source.stop();
    expect(handled).toBe(70);
    expect(overlap).toBe(false);
    expect(peak).toBe(5);
    expect(containers).toBe(5);
    expect(source.containers()).toBe(5);
  });
});
