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
import { reconcileInstance } from '#src/reconcile/reconcile';

// Retries are SQS redeliveries, so reconcile never sends to the queue and needs no JOB_QUEUE_URL.
const deps = reconcileDeps(loadConfig(process.env, { requireQueue: false }));
const processor = new SqsFifoPartialProcessorAsync();

async function record(message: SQSRecord): Promise<void> {
  const job = parseJob(message.body);
  logger.info('job received', {
    instanceId: job.instanceId,
    reason: job.reason,
    receiveCount: message.attributes.ApproximateReceiveCount,
  });
  const outcome = await reconcileInstance(job.instanceId, deps);
  // A failed record is redelivered after the visibility timeout, up to the queue's maxReceiveCount (then DLQ).
  if (outcome.retryLater)
    throw new RetryLaterError(`retry ${job.instanceId}: ${outcome.retryLater}`, outcome.retryLater);
}

/**
 * SQS FIFO consumer: one reconcile per record. FIFO partial-failure semantics per group: after a failed record the
 * later records of the same instance are returned unprocessed (order kept), other instances go on. A batch where
 * every record failed is reported record by record too, instead of failing the invocation.
 */
export const handler = middy(async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, record, processor, { context, skipGroupOnError: true, throwOnFullBatchFailure: false }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
