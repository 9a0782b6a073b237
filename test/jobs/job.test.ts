import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '#src/errors';
import { isInstanceId, jobMessage, parseJob } from '#src/jobs/job';

describe('Function: parseJob', () => {
  it('parses a job', () => {
    expect(parseJob('{"instanceId":"i-0abcd1234ef567890","reason":"tag-change"}')).toEqual({
      instanceId: 'i-0abcd1234ef567890',
      reason: 'tag-change',
    });
  });

  it.each([
    ['not json', 'job body is not JSON'],
    ['null', 'job body is not an object'],
    ['{"instanceId":"vol-1","reason":"x"}', 'job instanceId is not an instance id: "vol-1"'],
    ['{"instanceId":"i-0abcd1234ef567890"}', 'job reason is missing'],
  ])('rejects %j clearly', (body, message) => {
    expect(() => parseJob(body)).toThrow(InvalidInputError);
    expect(() => parseJob(body)).toThrow(message);
  });
});

describe('Function: jobMessage', () => {
  it('groups by instance and keeps the dedup id within SQS rules', () => {
    const m = jobMessage({ instanceId: 'i-0abcd1234ef567890', reason: 'schedule' }, `ev 1é${'x'.repeat(200)}`);
    expect(m.groupId).toBe('i-0abcd1234ef567890');
    expect(m.deduplicationId).toMatch(/^ev-1-x+$/);
    expect(m.deduplicationId).toHaveLength(128);
    expect(JSON.parse(m.body)).toEqual({ instanceId: 'i-0abcd1234ef567890', reason: 'schedule' });
  });
});

describe('Function: isInstanceId', () => {
  it.each([
    ['i-0abcd123', true],
    ['i-0abcd1234ef567890', true],
    ['i-0abcd1234', false],
    ['i-0abcd1234ef56789', false],
    ['i-0ABCD123', false],
    ['eni-0abcd123', false],
    [42, false],
  ])('%j → %s (i- and 8 or 17 hex digits)', (value, expected) => {
    expect(isInstanceId(value)).toBe(expected);
  });
});
