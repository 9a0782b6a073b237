import type { Config } from '../config';
import { type Job, isInstanceId } from './job';

/** An EventBridge event as far as intake reads it. */
export interface BusEvent {
  id?: string;
  'detail-type'?: string;
  source?: string;
  time?: string;
  resources?: string[];
  detail?: Record<string, unknown>;
}

/** What intake does with one event. */
export type Intake = { kind: 'jobs'; jobs: { job: Job; deduplicationId: string }[] } | { kind: 'ignore'; why: string };

function instanceFromArn(arn: string | undefined): string | undefined {
  const id = arn?.match(/:instance\/(i-[0-9a-f]+)$/)?.[1];
  return isInstanceId(id) ? id : undefined;
}

function one(event: BusEvent, instanceId: string | undefined, reason: string): Intake {
  if (!instanceId) return { kind: 'ignore', why: 'no instance id in event' };
  return {
    kind: 'jobs',
    jobs: [{ job: { instanceId, reason }, deduplicationId: event.id ?? `${instanceId}-${event.time}` }],
  };
}

/**
 * Turns an EventBridge event into jobs (pure). Accepts the EC2 state-change, the tag-change for instances when one
 * of our tag keys changed, CloudTrail CreateTags/DeleteTags on instances; anything else is ignored with the reason,
 * the schedule included: the stack routes it to the sweep function (infra/events.yml), and intake stays free of EC2.
 */
export function intakeEvent(
  event: BusEvent,
  config: Pick<Config, 'countTagKey' | 'poolTagKey' | 'onStopTagKey'>,
): Intake {
  const type = event['detail-type'];
  const detail = event.detail ?? {};
  const ours = new Set([config.countTagKey, config.poolTagKey, config.onStopTagKey]);
  if (type === 'EC2 Instance State-change Notification' && event.source === 'aws.ec2') {
    const id = detail['instance-id'];
    return one(event, isInstanceId(id) ? id : undefined, `state-change:${String(detail.state ?? 'unknown')}`);
  }
  if (type === 'Tag Change on Resource' && event.source === 'aws.tag') {
    if (detail.service !== 'ec2' || detail['resource-type'] !== 'instance')
      return { kind: 'ignore', why: 'not an instance' };
    const changed = Array.isArray(detail['changed-tag-keys']) ? (detail['changed-tag-keys'] as unknown[]) : [];
    if (!changed.some((k) => typeof k === 'string' && ours.has(k)))
      return { kind: 'ignore', why: 'none of our tag keys changed' };
    return one(event, instanceFromArn(event.resources?.[0]), 'tag-change');
  }
  if (type === 'AWS API Call via CloudTrail' && event.source === 'aws.ec2') {
    const name = detail.eventName;
    if (name !== 'CreateTags' && name !== 'DeleteTags') return { kind: 'ignore', why: `CloudTrail ${String(name)}` };
    const params = (detail.requestParameters ?? {}) as {
      resourcesSet?: { items?: { resourceId?: string }[] };
      tagSet?: { items?: { key?: string }[] };
    };
    const keys = (params.tagSet?.items ?? []).map((t) => t.key ?? '');
    // DeleteTags without a tag set deletes every tag: that includes ours.
    if (keys.length > 0 && !keys.some((k) => ours.has(k)))
      return { kind: 'ignore', why: 'none of our tag keys changed' };
    const ids = [...new Set((params.resourcesSet?.items ?? []).map((r) => r.resourceId).filter(isInstanceId))].sort();
    if (ids.length === 0) return { kind: 'ignore', why: 'no instance among the resources' };
    return {
      kind: 'jobs',
      jobs: ids.map((instanceId) => ({
        job: { instanceId, reason: 'tag-change' },
        deduplicationId: `${event.id}-${instanceId}`,
      })),
    };
  }
  if (type === 'Scheduled Event' && event.source === 'aws.events') {
    return { kind: 'ignore', why: 'schedule events go to the sweep function' };
  }
  return { kind: 'ignore', why: `unsupported event ${String(event.source)} / ${String(type)}` };
}
