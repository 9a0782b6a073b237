import { describe, expect, it } from 'vitest';
import { loadConfig } from '#src/config';
import { ConfigError } from '#src/errors';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/eip-autopilot-jobs.fifo';

describe('Function: loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({ JOB_QUEUE_URL: QUEUE })).toEqual({
      countTagKey: 'eip-count',
      poolTagKey: 'eip-pool',
      onStopTagKey: 'eip-on-stop',
      jobQueueUrl: QUEUE,
      guestDocumentName: 'eip-autopilot-guest-sync',
      dryRun: false,
      apiRateShare: 0.6,
      reconcileConcurrency: 5,
    });
  });

  it.each([
    [
      { API_RATE_SHARE: '0.3', RECONCILE_CONCURRENCY: '10' },
      { apiRateShare: 0.3, reconcileConcurrency: 10 },
    ],
    [{ API_RATE_SHARE: '0' }, { apiRateShare: 0 }],
  ])('reads the API rate share and the reconcile concurrency %j', (env, expected) => {
    expect(loadConfig({ JOB_QUEUE_URL: QUEUE, ...env })).toMatchObject(expected);
  });

  it.each([
    { API_RATE_SHARE: '1.5' },
    { API_RATE_SHARE: 'half' },
    { RECONCILE_CONCURRENCY: '0' },
    { RECONCILE_CONCURRENCY: '2.5' },
  ])('refuses %j', (env) => {
    expect(() => loadConfig({ JOB_QUEUE_URL: QUEUE, ...env })).toThrow(ConfigError);
  });

  it('reads every variable', () => {
    const env = {
      JOB_QUEUE_URL: QUEUE,
      COUNT_TAG_KEY: 'n',
      POOL_TAG_KEY: 'p',
      ON_STOP_TAG_KEY: 's',
      GUEST_DOCUMENT_NAME: 'doc-1',
      DRY_RUN: 'TRUE',
    };
    expect(loadConfig(env)).toMatchObject({
      countTagKey: 'n',
      poolTagKey: 'p',
      onStopTagKey: 's',
      guestDocumentName: 'doc-1',
      dryRun: true,
    });
  });

  it.each([
    [{}, 'JOB_QUEUE_URL is required'],
    [{ JOB_QUEUE_URL: 'https://sqs.example/q' }, 'must be the URL of a FIFO queue'],
    [{ JOB_QUEUE_URL: QUEUE, DRY_RUN: 'yes' }, 'DRY_RUN must be "true" or "false"'],
    [{ JOB_QUEUE_URL: QUEUE, COUNT_TAG_KEY: 'eip-autopilot:count' }, 'COUNT_TAG_KEY must not start with'],
    [{ JOB_QUEUE_URL: QUEUE, POOL_TAG_KEY: 'eip-count' }, 'tag keys must differ'],
    [{ JOB_QUEUE_URL: QUEUE, GUEST_DOCUMENT_NAME: 'a b' }, 'GUEST_DOCUMENT_NAME is not a valid'],
  ])('fails loudly on %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lets the CLI run without a queue', () => {
    expect(loadConfig({}, { requireQueue: false }).jobQueueUrl).toBeUndefined();
  });
});
