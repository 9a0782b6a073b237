import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { matchesPattern } from '#local/eventbridge/pattern';
import { type EventRule, eventRulesFromTemplate } from '#local/eventbridge/rules';
import { packageStack, STACK_ROOT } from '#local/stack/package';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(STACK_ROOT, 'test', 'fixtures', 'events', `${name}.json`), 'utf8'));

let rules: EventRule[];

beforeAll(() => {
  rules = eventRulesFromTemplate(packageStack().template);
});

function rule(logicalId: string): EventRule {
  const found = rules.find((r) => r.logicalId === logicalId);
  if (!found) throw new Error(`no rule ${logicalId}`);
  return found;
}

/** Handlers whose rules match `event`, the way EventBridge would route it. */
function routed(event: unknown): string[] {
  return rules
    .filter((r) => r.pattern && matchesPattern(r.pattern, event))
    .flatMap((r) => r.targets.map((t) => t.handler))
    .sort();
}

const INTAKE = 'functions/intake/handler.handler';
const COMMAND_STATUS = 'functions/command-status/handler.handler';

describe('EventBridge rules of the packaged stack', () => {
  it.each(['running', 'stopping', 'stopped', 'shutting-down', 'terminated'])(
    'routes a state change to %s to intake only',
    (state) => {
      expect(routed(fixture(`ec2-state-change-${state}`))).toEqual([INTAKE]);
    },
  );

  // Every instance of the Region changes state, and the event carries no tags: a pending instance has nothing to
  // reconcile (associating fails until it runs, and the running event follows), so it costs no invocation.
  it('does not route a state change to pending', () => {
    expect(routed(fixture('ec2-state-change-pending'))).toEqual([]);
  });

  it('routes a tag change of eip-count on an instance to intake', () => {
    expect(routed(fixture('tag-change-on-instance'))).toEqual([INTAKE]);
  });

  it('routes the removal of eip-count (key in changed-tag-keys, not in tags) to intake', () => {
    expect(routed(fixture('tag-change-key-deleted'))).toEqual([INTAKE]);
  });

  it.each(['eip-pool', 'eip-on-stop'])('routes a change of %s to intake', (key) => {
    const event = fixture('tag-change-on-instance');
    (event.detail as Record<string, unknown>)['changed-tag-keys'] = ['Name', key];
    expect(routed(event)).toEqual([INTAKE]);
  });

  it('ignores a tag change on a volume, even of eip-count', () => {
    expect(routed(fixture('tag-change-on-volume'))).toEqual([]);
  });

  it('ignores a tag change of a key we do not own', () => {
    const event = fixture('tag-change-on-instance');
    (event.detail as Record<string, unknown>)['changed-tag-keys'] = ['Name'];
    expect(routed(event)).toEqual([]);
  });

  it('ignores our own status tag writes (no feedback loop between reconcile and intake)', () => {
    const event = fixture('tag-change-on-instance');
    const detail = event.detail as Record<string, unknown>;
    detail['changed-tag-keys'] = ['eip-autopilot:status'];
    detail.tags = { Name: 'web-1', 'eip-count': '3', 'eip-autopilot:status': 'ok 3/3' };
    expect(routed(event)).toEqual([]);
  });

  it('ignores a tag change from another service', () => {
    const event = fixture('tag-change-on-instance');
    (event.detail as Record<string, unknown>).service = 'rds';
    expect(routed(event)).toEqual([]);
  });

  it('routes the invocation status of our guest document to command-status', () => {
    expect(routed(fixture('ssm-command-invocation-status'))).toEqual([COMMAND_STATUS]);
  });

  it('ignores invocation status of other documents', () => {
    const event = fixture('ssm-command-invocation-status');
    (event.detail as Record<string, unknown>)['document-name'] = 'AWS-RunShellScript';
    expect(routed(event)).toEqual([]);
  });

  it('runs the sweep on the schedule, and nothing routes scheduled events by pattern', () => {
    expect(rule('SweepScheduleRule')).toMatchObject({
      schedule: 'rate(15 minutes)',
      targets: [{ handler: 'functions/sweep/handler.handler' }],
    });
    expect(routed(fixture('scheduled-event'))).toEqual([]);
  });

  it('lets every rule invoke its function (a Lambda permission per rule)', () => {
    const { template } = packageStack();
    const permissions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Permission');
    for (const r of rules) {
      const allowed = permissions.filter(
        (p) =>
          JSON.stringify(p.Properties?.SourceArn) === JSON.stringify({ 'Fn::GetAtt': [r.logicalId, 'Arn'] }) &&
          p.Properties?.Principal === 'events.amazonaws.com',
      );
      const invoked = allowed.map(
        (p) => (p.Properties as { FunctionName: { 'Fn::GetAtt': string[] } }).FunctionName['Fn::GetAtt'][0],
      );
      expect(invoked).toEqual(r.targets.map((t) => t.functionLogicalId));
    }
  });
});
