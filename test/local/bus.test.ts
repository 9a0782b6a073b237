import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalBus } from '#local/bus';
import { eventRulesFromTemplate } from '#local/eventbridge/rules';
import type { CfnTemplate } from '#local/stack/package';
import { createRegion, type RegionEvent } from '#local/region/model/index';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as RegionEvent;

/** The patterns of infra/events.yml with the default parameters. */
const STATE = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] };
const TAGS = {
  source: ['aws.tag'],
  'detail-type': ['Tag Change on Resource'],
  detail: {
    service: ['ec2'],
    'resource-type': ['instance'],
    'changed-tag-keys': ['eip-count', 'eip-pool', 'eip-on-stop'],
  },
};
const COMMAND = {
  source: ['aws.ssm'],
  'detail-type': ['EC2 Command Invocation Status-change Notification'],
  detail: { 'document-name': ['eip-autopilot-guest-sync'] },
};

function recordingBus(opts: ConstructorParameters<typeof LocalBus>[0] = {}) {
  const bus = new LocalBus(opts);
  const got: [string, RegionEvent][] = [];
  const target = (id: string) => ({ id, invoke: async (e: RegionEvent) => void got.push([id, e]) });
  bus.addRule({ name: 'state', pattern: STATE, targets: [target('intake')] });
  bus.addRule({ name: 'tags', pattern: TAGS, targets: [target('intake')] });
  bus.addRule({ name: 'command', pattern: COMMAND, targets: [target('command-status')] });
  bus.addRule({ name: 'sweep', schedule: 'rate(5 minutes)', targets: [target('sweep')] });
  return { bus, got };
}

/** Same keys at every level as the AWS sample (values differ). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  return typeof value;
}

describe('Class: LocalBus', () => {
  it('routes the region events to the rules whose patterns match, in the shapes AWS sends', async () => {
    const region = createRegion();
    const { bus, got } = recordingBus();
    bus.attach(region);
    const run = await region.ec2('RunInstances', { ImageId: 'ami-1', MinCount: 1, MaxCount: 1 });
    const id = run.Instances?.[0]?.InstanceId ?? '';
    await region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'Name', Value: 'web-1' }] });
    await region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '3' }] });
    await region.ssm('CreateDocument', {
      Name: 'eip-autopilot-guest-sync',
      Content: JSON.stringify({
        schemaVersion: '2.2',
        mainSteps: [{ action: 'aws:runShellScript', name: 'sync', inputs: { runCommand: ['true'] } }],
      }),
    });
    await region.ssm('SendCommand', { DocumentName: 'eip-autopilot-guest-sync', InstanceIds: [id] });
    await region.ssm('SendCommand', {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [id],
      Parameters: { commands: ['true'] },
    });
    await region.idle();
    await bus.idle();
    expect(
      got.map(([t, e]) => [t, e['detail-type'], e.detail.state ?? e.detail.status ?? e.detail['changed-tag-keys']]),
    ).toEqual([
      ['intake', 'EC2 Instance State-change Notification', 'pending'],
      ['intake', 'EC2 Instance State-change Notification', 'running'],
      ['intake', 'Tag Change on Resource', ['eip-count']],
      ['command-status', 'EC2 Command Invocation Status-change Notification', 'Pending'],
      ['command-status', 'EC2 Command Invocation Status-change Notification', 'InProgress'],
      ['command-status', 'EC2 Command Invocation Status-change Notification', 'Success'],
    ]);
    const byType = (t: string) => got.find(([, e]) => e['detail-type'] === t)?.[1];
    expect(shape(byType('EC2 Instance State-change Notification'))).toEqual(shape(fixture('ec2-state-change-running')));
    expect(shape(byType('Tag Change on Resource'))).toEqual(shape(fixture('tag-change-on-instance')));
    const invocation = byType('EC2 Command Invocation Status-change Notification');
    expect(shape(invocation)).toEqual(shape(fixture('ssm-command-invocation-status')));
  });

  it('matches the AWS sample events like the deployed rules would', () => {
    const { bus } = recordingBus();
    expect(bus.put(fixture('tag-change-key-deleted'))).toEqual(['tags']);
    expect(bus.put(fixture('tag-change-on-volume'))).toEqual([]);
    expect(bus.put(fixture('ec2-state-change-terminated'))).toEqual(['state']);
  });

  it('fires schedule rules with a Scheduled Event and records failing targets', async () => {
    const bus = new LocalBus();
    const seen: RegionEvent[] = [];
    bus.addRule({
      name: 'sweep',
      schedule: 'rate(5 minutes)',
      targets: [{ id: 'sweep', invoke: async (e) => void seen.push(e) }],
    });
    bus.addRule({
      name: 'state',
      pattern: STATE,
      targets: [{ id: 'broken', invoke: async () => Promise.reject(new Error('boom')) }],
    });
    bus.fireSchedule();
    bus.put(fixture('ec2-state-change-running'));
    await bus.idle();
    expect(shape(seen[0])).toEqual(shape(fixture('scheduled-event')));
    expect(bus.deliveries.map((d) => [d.target, d.ok, d.error])).toEqual([
      ['sweep', true, undefined],
      ['broken', false, 'Error: boom'],
    ]);
  });

  // EventBridge invokes Lambda asynchronously: Lambda retries a failed invocation twice, then hands the event to the
  // target's dead-letter queue (infra/events.yml, serverless.yml destinations) or, without one, drops it.
  it('retries a failing target twice, then dead-letters the event (or loses it without a DLQ)', async () => {
    const bus = new LocalBus();
    let calls = 0;
    bus.addRule({
      name: 'state',
      pattern: STATE,
      targets: [
        {
          id: 'flaky',
          deadLetterQueue: 'IntakeDeadLetterQueue',
          invoke: async () => {
            calls += 1;
            if (calls < 3) throw new Error(`boom ${calls}`);
          },
        },
        { id: 'broken', deadLetterQueue: 'IntakeDeadLetterQueue', invoke: async () => Promise.reject(new Error('no')) },
        { id: 'no-dlq', invoke: async () => Promise.reject(new Error('gone')) },
      ],
    });
    const event = fixture('ec2-state-change-running');
    bus.put(event);
    await bus.idle();
    expect(calls).toBe(3);
    expect(bus.deliveries.map((d) => [d.target, d.ok, d.attempts, d.error])).toEqual([
      ['flaky', true, 3, undefined],
      ['broken', false, 3, 'Error: no'],
      ['no-dlq', false, 3, 'Error: gone'],
    ]);
    expect(bus.deadLetters.map((d) => [d.target, d.queue, d.error, d.event.id])).toEqual([
      ['broken', 'IntakeDeadLetterQueue', 'Error: no', event.id],
      ['no-dlq', undefined, 'Error: gone', event.id],
    ]);
  });

  it('drops events on demand to simulate best-effort delivery, and refuses invalid patterns', () => {
    const { bus, got } = recordingBus({ dropWhen: (e) => e['detail-type'] === 'Tag Change on Resource' });
    expect(bus.put(fixture('tag-change-on-instance'))).toEqual([]);
    expect(bus.dropped).toHaveLength(1);
    expect(got).toEqual([]);
    expect(() => bus.addRule({ name: 'bad', pattern: { source: 'aws.ec2' }, targets: [] })).toThrow();
  });

  it('routes by the rules of a packaged template to the handlers their targets name', async () => {
    const fn = (handler: string) => ({ Type: 'AWS::Lambda::Function', Properties: { Handler: handler } });
    const rule = (props: Record<string, unknown>, target: string) => ({
      Type: 'AWS::Events::Rule',
      Properties: {
        ...props,
        Targets: [
          {
            Id: 'target',
            Arn: { 'Fn::GetAtt': [target, 'Arn'] },
            ...(target === 'SweepLambdaFunction'
              ? {}
              : { DeadLetterConfig: { Arn: { 'Fn::GetAtt': [`${target}Dlq`, 'Arn'] } } }),
          },
        ],
      },
    });
    const template: CfnTemplate = {
      Resources: {
        IntakeLambdaFunction: fn('functions/intake/handler.handler'),
        SweepLambdaFunction: fn('functions/sweep/handler.handler'),
        CommandStatusLambdaFunction: fn('functions/command-status/handler.handler'),
        InstanceStateChangeRule: rule({ EventPattern: STATE }, 'IntakeLambdaFunction'),
        InstanceTagChangeRule: rule({ EventPattern: JSON.stringify(TAGS) }, 'IntakeLambdaFunction'),
        SweepScheduleRule: rule({ ScheduleExpression: 'rate(5 minutes)' }, 'SweepLambdaFunction'),
        GuestCommandStatusRule: rule({ EventPattern: COMMAND }, 'CommandStatusLambdaFunction'),
      },
    };
    const bus = new LocalBus();
    const invoked: [string, string][] = [];
    bus.addTemplateRules(
      eventRulesFromTemplate(template),
      async (handler, event) => void invoked.push([handler, event['detail-type']]),
    );
    bus.put(fixture('tag-change-on-instance'));
    bus.put(fixture('ssm-command-invocation-status'));
    bus.put(fixture('tag-change-on-volume'));
    bus.fireSchedule();
    await bus.idle();
    expect(eventRulesFromTemplate(template).map((r) => [r.logicalId, r.targets[0]?.deadLetterQueue])).toEqual([
      ['InstanceStateChangeRule', 'IntakeLambdaFunctionDlq'],
      ['InstanceTagChangeRule', 'IntakeLambdaFunctionDlq'],
      ['SweepScheduleRule', undefined],
      ['GuestCommandStatusRule', 'CommandStatusLambdaFunctionDlq'],
    ]);
    expect(invoked).toEqual([
      ['functions/intake/handler.handler', 'Tag Change on Resource'],
      ['functions/command-status/handler.handler', 'EC2 Command Invocation Status-change Notification'],
      ['functions/sweep/handler.handler', 'Scheduled Event'],
    ]);
  });
});
