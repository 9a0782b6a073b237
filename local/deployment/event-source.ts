import type { Context } from 'aws-lambda';
import { deliverOnce, type FifoQueue, type SqsHandler } from '../sqs-fifo';

/**
 * An SQS event source mapping as deployed: up to `maxConcurrency` containers poll the queue, each receiving batches
 * of up to `batchSize` and invoking its own handler instance (its own SDK clients and rate limiter, as a Lambda
 * container has), one batch at a time. FIFO: the queue hands out at most one message per group in flight, so one
 * instance is never reconciled twice at once whatever the concurrency.
 */
export interface EventSourceOptions {
  queue: FifoQueue;
  batchSize: number;
  maxConcurrency: number;
  /** Builds one container's handler (called at most `maxConcurrency` times, when a container first gets work). */
  container: () => (event: Parameters<SqsHandler>[0], context: Context) => Promise<unknown>;
  /** The Lambda context of one invocation. */
  context: () => Context;
  pollMs?: number;
}

/** A running event source. */
export interface EventSource {
  /** Invocations running now. */
  active(): number;
  /** Containers started so far (cold starts). */
  containers(): number;
  stop(): Promise<void>;
}

/** Starts polling. */
export function startEventSource(opts: EventSourceOptions): EventSource {
  let stopped = false;
  let active = 0;
  let started = 0;
  const loops: Promise<void>[] = [];
  const poll = async () => {
    let handler: ReturnType<EventSourceOptions['container']> | undefined;
    const invoke: SqsHandler = async (event) => {
      if (!handler) {
        handler = opts.container();
        started += 1;
      }
      active += 1;
      try {
        return (await handler(event, opts.context())) as Awaited<ReturnType<SqsHandler>>;
      } finally {
        active -= 1;
      }
    };
    while (!stopped) {
      const n = await deliverOnce(opts.queue, invoke, opts.batchSize);
      if (n === 0) await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 20));
    }
  };
  for (let i = 0; i < opts.maxConcurrency; i++) loops.push(poll());
  return {
    active: () => active,
    containers: () => started,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
