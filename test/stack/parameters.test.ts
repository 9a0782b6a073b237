import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesPattern } from '#local/eventbridge/pattern';
import { type CfnTemplate, packageWithParams, propertiesOf } from '#local/stack/package';
import { validateTemplate } from './spec';

// Every parameter overridden at once, packaged into a temporary directory (the default package stays untouched).
const PARAMS = {
  countTagKey: 'public-ips',
  poolTagKey: 'ip-pool',
  onStopTagKey: 'ips-on-stop',
  sweepRate: 'rate(5 minutes)',
  guestSyncRate: 'rate(1 hour)',
  dryRun: 'true',
  logLevel: 'DEBUG',
  guestDocumentName: 'acme-guest-sync',
  logRetentionDays: '7',
  alarmEmail: 'ops@example.com',
  apiRateShare: '0.3',
  reconcileConcurrency: '10',
};

let dir: string;
let template: CfnTemplate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eip-params-'));
  template = packageWithParams(PARAMS, dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Stack parameters (--param)', () => {
  it('still produces a valid template', () => {
    expect(validateTemplate(template)).toEqual([]);
  });

  it('passes tag keys, dry-run and log level to every function', () => {
    const env = (propertiesOf(template, 'ReconcileLambdaFunction').Environment as { Variables: object }).Variables;
    expect(env).toMatchObject({
      COUNT_TAG_KEY: 'public-ips',
      POOL_TAG_KEY: 'ip-pool',
      ON_STOP_TAG_KEY: 'ips-on-stop',
      DRY_RUN: 'true',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      API_RATE_SHARE: '0.3',
      RECONCILE_CONCURRENCY: '10',
    });
  });

  it('gives reconcile the configured concurrency, the one its rate limiter divides the share by', () => {
    const mapping = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.Properties?.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
  });

  it('routes tag changes of the configured keys, not of the default ones', () => {
    const pattern = propertiesOf(template, 'InstanceTagChangeRule').EventPattern;
    const event = (key: string) => ({
      source: 'aws.tag',
      'detail-type': 'Tag Change on Resource',
      detail: { service: 'ec2', 'resource-type': 'instance', 'changed-tag-keys': [key] },
    });
    expect(matchesPattern(pattern, event('public-ips'))).toBe(true);
    expect(matchesPattern(pattern, event('ips-on-stop'))).toBe(true);
    expect(matchesPattern(pattern, event('eip-count'))).toBe(false);
  });

  it('names the document and scopes SendCommand and the association to the configured keys', () => {
    expect(propertiesOf(template, 'GuestDocument').Name).toBe('acme-guest-sync');
    expect(propertiesOf(template, 'GuestSyncAssociation')).toMatchObject({
      Targets: [{ Key: 'tag-key', Values: ['public-ips'] }],
      ScheduleExpression: 'rate(1 hour)',
    });
    const statements = (
      propertiesOf(template, 'ReconcileRole').Policies as {
        PolicyDocument: { Statement: { Sid: string; Condition?: unknown }[] };
      }[]
    ).flatMap((p) => p.PolicyDocument.Statement);
    expect(statements.find((s) => s.Sid === 'RunOnCountTaggedInstances')?.Condition).toEqual({
      StringLike: { 'ssm:resourceTag/public-ips': '*' },
    });
    const pattern = propertiesOf(template, 'GuestCommandStatusRule').EventPattern as { detail: object };
    expect(pattern.detail).toEqual({ 'document-name': ['acme-guest-sync'] });
  });

  it('sets the sweep rate, log retention and the alarm e-mail subscription', () => {
    expect(propertiesOf(template, 'SweepScheduleRule').ScheduleExpression).toBe('rate(5 minutes)');
    expect(propertiesOf(template, 'ReconcileLogGroup').RetentionInDays).toBe(7);
    expect(propertiesOf(template, 'AlarmEmailSubscription').Endpoint).toBe('ops@example.com');
  });
});
