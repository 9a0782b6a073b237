import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '#src/config';
import { intakeDeps } from '#src/deps';
import { type BusEvent, intakeEvent } from '#src/jobs/events';
import { enqueueJobs } from '#src/jobs/job';
import { logger } from '#src/logger';
import { count, metrics } from '#src/metrics';

const deps = intakeDeps(loadConfig(process.env));
const queueUrl = deps.config.jobQueueUrl ?? '';

/** EventBridge → jobs on the FIFO queue (group = instance id). Only SQS: the schedule goes to the sweep function. */
export const handler = middy(async (event: BusEvent) => {
  const intake = intakeEvent(event, deps.config);
  if (intake.kind === 'ignore') {
    logger.info('event ignored', { eventId: event.id, detailType: event['detail-type'], why: intake.why });
    return;
  }
  await enqueueJobs(deps.sqs, queueUrl, intake.jobs);
  count('JobsEnqueued', intake.jobs.length);
  for (const { job } of intake.jobs)
    logger.info('job enqueued', { eventId: event.id, instanceId: job.instanceId, reason: job.reason });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
