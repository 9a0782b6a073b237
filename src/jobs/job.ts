import type { QueueMessage, SqsPort } from '../aws/sqs-port';
import { InvalidInputError } from '../errors';

/** One reconcile job (the SQS FIFO message body). */
export interface Job {
  instanceId: string;
  /** Why: `state-change:<state>`, `tag-change`, `sweep:<drift>`. */
  reason: string;
}

const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** True for an EC2 instance id (`i-` + 8 or 17 hex digits). */
export function isInstanceId(value: unknown): value is string {
  return typeof value === 'string' && INSTANCE_ID.test(value);
}

/** Parses and validates a job message body; throws {@link InvalidInputError} saying what is wrong. */
export function parseJob(body: string): Job {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    throw new InvalidInputError('job body is not JSON', { cause: err });
  }
  if (typeof data !== 'object' || data === null) throw new InvalidInputError('job body is not an object');
  const { instanceId, reason } = data as Record<string, unknown>;
  if (!isInstanceId(instanceId))
    throw new InvalidInputError(`job instanceId is not an instance id: ${JSON.stringify(instanceId)}`);
  if (typeof reason !== 'string' || reason === '') throw new InvalidInputError('job reason is missing');
  return { instanceId, reason };
}

/**
 * The FIFO message for a job: group = instance id (one reconcile per instance at a time), dedup id from the event
 * id so a redelivered event within SQS's 5-minute window is enqueued once.
 */
export function jobMessage(job: Job, deduplicationId: string): QueueMessage {
  return {
    body: JSON.stringify({ instanceId: job.instanceId, reason: job.reason }),
    groupId: job.instanceId,
    // SQS allows [A-Za-z0-9!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~] up to 128 characters.
    deduplicationId: deduplicationId.replace(/[^A-Za-z0-9!-/:-@[-`{-~]/g, '-').slice(0, 128),
  };
}

/** Sends jobs to the queue. */
export async function enqueueJobs(
  sqs: SqsPort,
  queueUrl: string,
  jobs: readonly { job: Job; deduplicationId: string }[],
): Promise<void> {
  if (jobs.length === 0) return;
  await sqs.send(
    queueUrl,
    jobs.map((j) => jobMessage(j.job, j.deduplicationId)),
  );
}
