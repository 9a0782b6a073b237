import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, packageStack, propertiesOf } from '#local/stack/package';
import { validateTemplate } from './spec';

let template: CfnTemplate;

beforeAll(() => {
  template = packageStack().template;
});

function resource(logicalId: string) {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the packaged template`);
  return found;
}

const FUNCTIONS = {
  IntakeLambdaFunction: { handler: 'functions/intake/handler.handler', role: 'IntakeRole' },
  ReconcileLambdaFunction: { handler: 'functions/reconcile/handler.handler', role: 'ReconcileRole' },
  SweepLambdaFunction: { handler: 'functions/sweep/handler.handler', role: 'SweepRole' },
  CommandStatusLambdaFunction: { handler: 'functions/command-status/handler.handler', role: 'CommandStatusRole' },
};

describe('Packaged template: CloudFormation resource specification', () => {
  it('has every resource type, property and reference right', () => {
    expect(validateTemplate(template)).toEqual([]);
  });

  it.each([
    [
      'an unknown resource type',
      (t: CfnTemplate) => {
        (t.Resources.JobQueue as { Type: string }).Type = 'AWS::SQS::Queues';
      },
      'Resources.JobQueue: unknown resource type AWS::SQS::Queues',
    ],
    [
      'an unknown property',
      (t: CfnTemplate) => {
        propertiesOf(t, 'JobQueue').VisibilityTimeoutSeconds = 360;
      },
      'Resources.JobQueue.Properties.VisibilityTimeoutSeconds: unknown property',
    ],
    [
      'a missing required property',
      (t: CfnTemplate) => {
        delete propertiesOf(t, 'GuestDocument').Content;
      },
      'Resources.GuestDocument.Properties.Content: required property missing',
    ],
    [
      'an unknown nested property',
      (t: CfnTemplate) => {
        const targets = propertiesOf(t, 'InstanceStateChangeRule').Targets as Record<string, unknown>[];
        (targets[0] as Record<string, unknown>).FunctionArn = 'x';
      },
      'Resources.InstanceStateChangeRule.Properties.Targets[0].FunctionArn: unknown property',
    ],
    [
      'a value outside the allowed values',
      (t: CfnTemplate) => {
        propertiesOf(t, 'GuestDocument').DocumentFormat = 'YML';
      },
      'Resources.GuestDocument.Properties.DocumentFormat: "YML" is not one of',
    ],
    [
      'a wrong primitive type',
      (t: CfnTemplate) => {
        propertiesOf(t, 'JobQueue').FifoQueue = 'yes';
      },
      'Resources.JobQueue.Properties.FifoQueue: expected a boolean',
    ],
    [
      'a GetAtt of an attribute the type does not have',
      (t: CfnTemplate) => {
        const dims = propertiesOf(t, 'DeadLetterQueueNotEmptyAlarm').Dimensions as { Value: unknown }[];
        (dims[0] as { Value: unknown }).Value = { 'Fn::GetAtt': ['JobDeadLetterQueue', 'Name'] };
      },
      'Fn::GetAtt JobDeadLetterQueue.Name: AWS::SQS::Queue has no attribute Name',
    ],
    [
      'a Ref to a missing resource',
      (t: CfnTemplate) => {
        propertiesOf(t, 'GuestSyncAssociation').Name = { Ref: 'GuestDoc' };
      },
      'Ref GuestDoc: reference to unknown resource GuestDoc',
    ],
  ])('fails on %s', (_name, breakIt, expected) => {
    const broken = structuredClone(template);
    breakIt(broken);
    const errors = validateTemplate(broken);
    expect(
      errors.some((e) => e.startsWith(expected)),
      errors.join('\n'),
    ).toBe(true);
  });
});

describe('Packaged template: functions', () => {
  // nodejs20.x was deprecated with Node 20's end of life (2026-04-30): Lambda blocks creating functions with it.
  it.each(Object.entries(FUNCTIONS))('%s: Node.js 24 on arm64, its own role, the contract handler', (id, fn) => {
    const props = resource(id).Properties as Record<string, unknown>;
    expect(props.Runtime).toBe('nodejs24.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Handler).toBe(fn.handler);
    expect(props.Role).toEqual({ 'Fn::GetAtt': [fn.role, 'Arn'] });
  });

  it.each(Object.keys(FUNCTIONS))('%s: has the environment of docs/ARCHITECTURE.md', (id) => {
    const env = (resource(id).Properties as { Environment: { Variables: Record<string, unknown> } }).Environment
      .Variables;
    expect(env).toMatchObject({
      COUNT_TAG_KEY: 'eip-count',
      POOL_TAG_KEY: 'eip-pool',
      ON_STOP_TAG_KEY: 'eip-on-stop',
      JOB_QUEUE_URL: { Ref: 'JobQueue' },
      GUEST_DOCUMENT_NAME: { Ref: 'GuestDocument' },
      DRY_RUN: 'false',
      POWERTOOLS_SERVICE_NAME: 'eip-autopilot',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: 'EipAutopilot',
    });
  });

  it('creates no shared default role', () => {
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(4);
    for (const group of groups) expect(group.Properties?.RetentionInDays).toBe(30);
  });
});

describe('Packaged template: job queue', () => {
  it('gives the queue a visibility timeout of at least 6 x the reconcile timeout', () => {
    const timeout = resource('ReconcileLambdaFunction').Properties?.Timeout as number;
    expect(resource('JobQueue').Properties?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('feeds reconcile from the FIFO queue with partial batch failures', () => {
    const mapping = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['JobQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['ReconcileLambdaFunction', 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(resource('JobQueue').Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false });
  });

  it('uses a FIFO DLQ that only the job queue may redrive to', () => {
    expect(resource('JobQueue').Properties?.RedrivePolicy).toMatchObject({
      deadLetterTargetArn: { 'Fn::GetAtt': ['JobDeadLetterQueue', 'Arn'] },
    });
    const dlq = resource('JobDeadLetterQueue').Properties as Record<string, unknown>;
    expect(dlq.FifoQueue).toBe(true);
    const queueName = resource('JobQueue').Properties?.QueueName as string;
    const allowed = (dlq.RedriveAllowPolicy as { sourceQueueArns: { 'Fn::Sub': string }[] }).sourceQueueArns;
    expect(allowed.map((a) => a['Fn::Sub'])).toEqual([
      `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${queueName}`,
    ]);
  });
});

// EventBridge invokes intake and command-status asynchronously: an event it cannot deliver (after the rule's retry
// policy) and an event the function failed on (after Lambda's two async retries) would otherwise be dropped.
describe('Packaged template: dead-letter queues of the EventBridge targets', () => {
  const TARGETS = [
    ['InstanceStateChangeRule', 'IntakeLambdaFunction', 'IntakeDeadLetterQueue'],
    ['InstanceTagChangeRule', 'IntakeLambdaFunction', 'IntakeDeadLetterQueue'],
    ['GuestCommandStatusRule', 'CommandStatusLambdaFunction', 'CommandStatusDeadLetterQueue'],
  ] as const;

  it.each(TARGETS)("%s: an undeliverable event goes to %s's DLQ %s", (rule, _fn, dlq) => {
    const targets = resource(rule).Properties?.Targets as { DeadLetterConfig?: unknown; RetryPolicy?: unknown }[];
    expect(targets).toHaveLength(1);
    expect(targets[0]?.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } });
    expect(targets[0]?.RetryPolicy).toBeDefined();
  });

  it.each([
    ['IntakeLambdaFunction', 'IntakeDeadLetterQueue'],
    ['CommandStatusLambdaFunction', 'CommandStatusDeadLetterQueue'],
  ])("%s: an event it failed on after Lambda's async retries goes to %s", (fn, dlq) => {
    const config = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::EventInvokeConfig' &&
        (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === fn,
    );
    expect(config?.Properties?.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } },
    });
  });

  it.each(['IntakeDeadLetterQueue', 'CommandStatusDeadLetterQueue'])(
    '%s: a standard, encrypted queue kept 14 days that no queue may redrive to',
    (dlq) => {
      // EventBridge and Lambda destinations cannot deliver to FIFO queues.
      expect(resource(dlq).Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1209600,
        RedriveAllowPolicy: { redrivePermission: 'denyAll' },
      });
      expect(resource(dlq).Properties?.FifoQueue).toBeUndefined();
    },
  );

  it.each([
    ['IntakeDeadLetterQueue', ['InstanceStateChangeRule', 'InstanceTagChangeRule']],
    ['CommandStatusDeadLetterQueue', ['GuestCommandStatusRule']],
  ])('%s: EventBridge may send to it only for its rules', (dlq, rules) => {
    const policy = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::SQS::QueuePolicy' &&
        ((r.Properties?.Queues ?? []) as { Ref?: string }[]).some((q) => q.Ref === dlq),
    );
    const statements = (policy?.Properties?.PolicyDocument as { Statement?: unknown } | undefined)?.Statement;
    expect(statements).toEqual([
      {
        Sid: 'EventBridgeDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [dlq, 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': rules.map((r) => ({ 'Fn::GetAtt': [r, 'Arn'] })) } },
      },
    ]);
  });
});

describe('Packaged template: alarms', () => {
  it.each([
    ['DeadLetterQueueNotEmptyAlarm', 'ApproximateNumberOfMessagesVisible'],
    ['IntakeDeadLetterAlarm', 'ApproximateNumberOfMessagesVisible'],
    ['CommandStatusDeadLetterAlarm', 'ApproximateNumberOfMessagesVisible'],
    ['ReconcileErrorsAlarm', 'Errors'],
    ['JobQueueStuckAlarm', 'ApproximateAgeOfOldestMessage'],
  ])('%s watches %s and notifies the alarm topic', (id, metric) => {
    expect(resource(id).Properties).toMatchObject({ MetricName: metric, AlarmActions: [{ Ref: 'AlarmTopic' }] });
  });

  it.each([
    ['IntakeDeadLetterAlarm', 'IntakeDeadLetterQueue'],
    ['CommandStatusDeadLetterAlarm', 'CommandStatusDeadLetterQueue'],
  ])('%s fires on the first message in %s', (alarm, dlq) => {
    expect(resource(alarm).Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('sums the throttles of all four functions', () => {
    const metrics = resource('ThrottlesAlarm').Properties?.Metrics as {
      MetricStat?: { Metric: { Dimensions: { Value: unknown }[] } };
    }[];
    const functions = metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.Dimensions[0]?.Value] : []));
    expect(functions).toEqual(Object.keys(FUNCTIONS).map((id) => ({ Ref: id })));
  });
});
