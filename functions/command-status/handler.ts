import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadConfig } from '#src/config';
import { commandStatusDeps } from '#src/deps';
import type { BusEvent } from '#src/jobs/events';
import { isInstanceId } from '#src/jobs/job';
import { logger } from '#src/logger';
import { metrics } from '#src/metrics';
import { recordGuestResult } from '#src/reconcile/guest-status';

const deps = commandStatusDeps(loadConfig(process.env, { requireQueue: false }));

/** SSM invocation status of our guest document → the instance's status tag. */
export const handler = middy(async (event: BusEvent) => {
  const detail = event.detail ?? {};
  const instanceId = detail['instance-id'];
  const status = detail.status;
  if (
    event['detail-type'] !== 'EC2 Command Invocation Status-change Notification' ||
    detail['document-name'] !== deps.config.guestDocumentName
  ) {
    logger.info('event ignored', {
      eventId: event.id,
      detailType: event['detail-type'],
      why: 'not an invocation of our document',
    });
    return;
  }
  if (!isInstanceId(instanceId) || typeof status !== 'string') {
    logger.error('event ignored', { eventId: event.id, why: 'no instance id or status' });
    return;
  }
  const { before, after } = await recordGuestResult(deps.ec2, instanceId, status);
  logger.info('guest status recorded', {
    instanceId,
    commandId: detail['command-id'],
    invocationStatus: status,
    before,
    after,
  });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
