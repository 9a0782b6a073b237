import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '#src/config';
import { sweepDeps } from '#src/deps';
import type { BusEvent } from '#src/jobs/events';
import { enqueueJobs } from '#src/jobs/job';
import { logger } from '#src/logger';
import { count, metrics } from '#src/metrics';
import { sweep, sweepJobs } from '#src/sweep/sweep';

const deps = sweepDeps(loadConfig(process.env));
const queueUrl = deps.config.jobQueueUrl ?? '';

/** Scheduled pass: enqueue only the instances (and orphaned addresses) out of sync. */
export const handler = middy(async (event: BusEvent) => {
  const result = await sweep(deps.ec2, deps.ssm, deps.config);
  const jobs = sweepJobs(result, event.id ?? `sweep-${event.time}`);
  for (const { job } of jobs)
    logger.info('drift found', { instanceId: job.instanceId, reason: job.reason, dryRun: deps.config.dryRun });
  if (deps.config.dryRun) return { scanned: result.scanned, drifted: jobs.length, enqueued: 0 };
  await enqueueJobs(deps.sqs, queueUrl, jobs);
  count('JobsEnqueued', jobs.length);
  return { scanned: result.scanned, drifted: jobs.length, enqueued: jobs.length };
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
