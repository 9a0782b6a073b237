import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '../../src/config';
import { makeDeps } from '../../src/deps';
import { type BusEvent, intakeEvent } from '../../src/jobs/events';
import { enqueueJobs } from '../../src/jobs/job';
import { logger } from '../../src/logger';
import { count, metrics } from '../../src/metrics';
import { sweep, sweepJobs } from '../../src/sweep/sweep';

const deps = makeDeps(loadConfig(process.env));
const queueUrl = deps.config.jobQueueUrl ?? '';

/** EventBridge → jobs on the FIFO queue (group = instance id); the schedule runs a sweep pass. */
export const handler = middy(async (event: BusEvent) => {
  const intake = intakeEvent(event, deps.config);
  if (intake.kind === 'ignore') {
    logger.info('event ignored', { eventId: event.id, detailType: event['detail-type'], why: intake.why });
    return;
  }
  const jobs = intake.kind === 'sweep' ? sweepJobs(await sweep(deps.ec2, deps.config), event.id ?? 'schedule') : intake.jobs;
  await enqueueJobs(deps.sqs, queueUrl, jobs);
  count('JobsEnqueued', jobs.length);
  for (const { job } of jobs) logger.info('job enqueued', { eventId: event.id, instanceId: job.instanceId, reason: job.reason });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
