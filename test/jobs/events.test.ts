import { describe, expect, it } from 'vitest';
import { intakeEvent } from '#src/jobs/events';
import { fixture } from '../helpers/lambda';

const keys = { countTagKey: 'eip-count', poolTagKey: 'eip-pool', onStopTagKey: 'eip-on-stop' };
const I = 'i-0abcd1234ef567890';

describe('Function: intakeEvent', () => {
  it.each(['pending', 'running', 'terminated'])('maps the %s state-change to a job', (state) => {
    expect(intakeEvent(fixture(`ec2-state-change-${state}`), keys)).toEqual({
      kind: 'jobs',
      jobs: [
        {
          job: { instanceId: I, reason: `state-change:${state}` },
          deduplicationId: '7bf73129-1428-4cd3-a780-95db273d1602',
        },
      ],
    });
  });

  it('maps a tag change of our key, also a deleted key', () => {
    expect(intakeEvent(fixture('tag-change-key-deleted'), keys)).toMatchObject({
      kind: 'jobs',
      jobs: [{ job: { instanceId: I, reason: 'tag-change' } }],
    });
  });

  it('ignores tag changes of other keys and of other resource types', () => {
    const other = {
      ...fixture<Record<string, unknown>>('tag-change-on-instance'),
      detail: { service: 'ec2', 'resource-type': 'instance', 'changed-tag-keys': ['Name'], tags: {} },
    };
    expect(intakeEvent(other, keys)).toEqual({ kind: 'ignore', why: 'none of our tag keys changed' });
    expect(intakeEvent(fixture('tag-change-on-volume'), keys)).toEqual({ kind: 'ignore', why: 'not an instance' });
  });

  it('honours configured tag keys', () => {
    expect(intakeEvent(fixture('tag-change-on-instance'), { ...keys, countTagKey: 'n-ips' })).toMatchObject({
      kind: 'ignore',
    });
  });

  it('ignores the schedule: the stack sends it to the sweep function', () => {
    expect(intakeEvent(fixture('scheduled-event'), keys)).toEqual({
      kind: 'ignore',
      why: 'schedule events go to the sweep function',
    });
  });

  it('ignores unknown events with the reason', () => {
    expect(intakeEvent({ source: 'aws.s3', 'detail-type': 'Object Created' }, keys)).toEqual({
      kind: 'ignore',
      why: 'unsupported event aws.s3 / Object Created',
    });
  });
});
