import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '#src/config';
import { reconcileDeps } from '#src/deps';
import { RetryLaterError } from '#src/errors';
import { parseJob } from '#src/jobs/job';
import { logger } from '#src/logger';
import { metrics } from '#src/metrics';
import { jobOptions, reconcileInstance } from '#src/reconcile/reconcile';
import { throttleRetryDelayMs, throttleReturnSeconds, wasThrottled } from '#src/reconcile/throttle';

/** Time kept free at the end of the invocation: the last reconcile attempt must finish before the timeout. */
const RESERVE_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Deps = ReturnType<typeof reconcileDeps>;

async function returnSoon(message: SQSRecord, instanceId: string, deps: Deps): Promise<void> {
  const queueUrl = deps.config.jobQueueUrl;
  if (!queueUrl) return;
  const seconds = throttleReturnSeconds();
  try {
    await deps.jobs.returnAfter(queueUrl, message.receiptHandle, seconds);
    logger.info('throttled: job handed back early', { instanceId, visibilitySeconds: seconds });
  } catch (e) {
    // The redelivery after the full visibility timeout still comes.
    logger.warn('throttled: could not hand the job back early', { instanceId, code: (e as Error).name });
  }
}

/** How one container handles throttling (the bench compares designs; deployed: the defaults). */
export interface HandlerOptions {
  /** Reconcile a throttled instance again within the invocation (default true); false: wait for the redelivery. */
  retryInInvocation?: boolean;
}

async function record(message: SQSRecord, context: Context, deps: Deps, options: HandlerOptions): Promise<void> {
  const job = parseJob(message.body);
  logger.info('job received', {
    instanceId: job.instanceId,
    reason: job.reason,
    receiveCount: message.attributes.ApproximateReceiveCount,
  });
  for (let attempt = 1; ; attempt++) {
    let outcome: Awaited<ReturnType<typeof reconcileInstance>> | undefined;
    let thrown: unknown;
    try {
      outcome = await reconcileInstance(job.instanceId, deps, jobOptions(job, message.messageId));
    } catch (e) {
      thrown = e;
    }
    // Throttled beyond the SDK's own retries: run the whole reconcile again after a jittered pause, inside this
    // invocation, instead of waiting for the redelivery (the 720 s visibility timeout). The rerun is safe: reconcile
    // is level-based and a run cut short mid-plan is the "killed run" its crash-safety covers.
    const throttled = wasThrottled(outcome, thrown);
    if (options.retryInInvocation !== false && throttled) {
      const delay = throttleRetryDelayMs(attempt);
      if (context.getRemainingTimeInMillis() - delay > RESERVE_MS) {
        logger.info('throttled: reconciling again within the invocation', {
          instanceId: job.instanceId,
          attempt,
          delayMs: delay,
        });
        await sleep(delay);
        continue;
      }
    }
    // Still throttled and out of time: hand the job back with a short, jittered visibility instead of the queue's
    // 720 s. (Each return is a receive: a throttle storm reaches the DLQ after maxReceiveCount × ~2-3 minutes.)
    if (options.retryInInvocation !== false && throttled) await returnSoon(message, job.instanceId, deps);
    if (thrown !== undefined) throw thrown;
    // A failed record is redelivered after the visibility timeout, up to the queue's maxReceiveCount (then DLQ).
    if (outcome?.retryLater)
      throw new RetryLaterError(`retry ${job.instanceId}: ${outcome.retryLater}`, outcome.retryLater);
    return;
  }
}

/**
 * SQS FIFO consumer: one reconcile per record. FIFO partial-failure semantics per group: after a failed record the
 * later records of the same instance are returned unprocessed (order kept), other instances go on. A batch where
 * every record failed is reported record by record too, instead of failing the invocation.
 *
 * One call builds what a Lambda container builds at cold start: its SDK clients and its rate limiter (this
 * container's part of the API rate share). The local deployment calls it once per container it runs.
 */
export function makeHandler(
  // Retries are SQS redeliveries: reconcile never sends to the queue. JOB_QUEUE_URL (optional) lets it hand a
  // throttled job back early (ChangeMessageVisibility, which the event source needs anyway).
  deps: Deps = reconcileDeps(loadConfig(process.env, { requireQueue: false })),
  options: HandlerOptions = {},
) {
  const processor = new SqsFifoPartialProcessorAsync();
  return middy(async (event: SQSEvent, context: Context) =>
    processPartialResponse(event, (message: SQSRecord) => record(message, context, deps, options), processor, {
      context,
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    }),
  )
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/** The Lambda entry point (this container's handler). */
export const handler = makeHandler();
