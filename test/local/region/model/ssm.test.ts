import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createRegion, manualClock, type Region, type RegionEvent } from '#local/region/model/index';

const DOC = {
  schemaVersion: '2.2',
  description: 'test document',
  parameters: {
    Mode: { type: 'String', default: 'apply', allowedPattern: '^(apply|check)$', interpolationType: 'ENV_VAR' },
    Label: { type: 'String', default: 'x' },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'sync',
      precondition: { StringEquals: ['platformType', 'Linux'] },
      inputs: { runCommand: ['echo "mode={{ Mode }}"', 'echo label={{Label}}'] },
    },
  ],
};

async function running(region: Region): Promise<string> {
  const r = await region.ec2('RunInstances', { ImageId: 'ami-1', MinCount: 1, MaxCount: 1 });
  return r.Instances?.[0]?.InstanceId ?? '';
}

describe('Class: SsmModel', () => {
  describe('Method: SendCommand', () => {
    it('answers InvalidInstanceId until the agent has registered, then runs the script', async () => {
      const clock = manualClock();
      const region = createRegion({ clock: clock.now, agentRegistrationDelayMs: 30_000 });
      const id = await running(region);
      await region.ssm('CreateDocument', { Name: 'guest-sync', Content: JSON.stringify(DOC), DocumentType: 'Command' });
      await expect(region.ssm('SendCommand', { DocumentName: 'guest-sync', InstanceIds: [id] })).rejects.toMatchObject({
        name: 'InvalidInstanceId',
      });
      expect((await region.ssm('DescribeInstanceInformation', {})).InstanceInformationList).toEqual([]);
      clock.advance(30_000);
      const sent = await region.ssm('SendCommand', {
        DocumentName: 'guest-sync',
        InstanceIds: [id],
        Parameters: { Label: ['y'] },
      });
      await region.idle();
      expect(region.executions).toEqual([
        // ENV_VAR parameters reach the script as a variable reference, never as pasted text.
        { instanceId: id, script: ['echo "mode=$', '{SSM_Mode}"\necho label=y'].join(''), env: { SSM_Mode: 'apply' } },
      ]);
      const inv = await region.ssm('GetCommandInvocation', { CommandId: sent.Command?.CommandId, InstanceId: id });
      expect(inv).toMatchObject({ Status: 'Success', ResponseCode: 0, PluginName: 'sync' });
      const info = await region.ssm('DescribeInstanceInformation', { Filters: [{ Key: 'InstanceIds', Values: [id] }] });
      expect(info.InstanceInformationList?.[0]).toMatchObject({
        InstanceId: id,
        PingStatus: 'Online',
        PlatformType: 'Linux',
      });
    });

    it(
      'reports a stopped instance as ConnectionLost and refuses commands until it runs long enough ' + 'again',
      async () => {
        const clock = manualClock();
        const region = createRegion({ clock: clock.now, agentRegistrationDelayMs: 10_000 });
        const id = await running(region);
        clock.advance(10_000);
        await region.ec2('StopInstances', { InstanceIds: [id] });
        const info = await region.ssm('DescribeInstanceInformation', {});
        expect(info.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus])).toEqual([
          [id, 'ConnectionLost'],
        ]);
        await region.ec2('StartInstances', { InstanceIds: [id] });
        await expect(
          region.ssm('SendCommand', {
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: [id],
            Parameters: { commands: ['true'] },
          }),
        ).rejects.toMatchObject({
          name: 'InvalidInstanceId',
        });
        clock.advance(10_000);
        await region.ssm('SendCommand', {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [id],
          Parameters: { commands: ['true'] },
        });
      },
    );

    it('refuses parameters the document does not declare or whose value breaks allowedPattern', async () => {
      const region = createRegion();
      const id = await running(region);
      await region.ssm('CreateDocument', { Name: 'guest-sync', Content: JSON.stringify(DOC) });
      await expect(
        region.ssm('SendCommand', { DocumentName: 'guest-sync', InstanceIds: [id], Parameters: { Nope: ['1'] } }),
      ).rejects.toMatchObject({
        name: 'InvalidParameters',
      });
      await expect(
        region.ssm('SendCommand', { DocumentName: 'guest-sync', InstanceIds: [id], Parameters: { Mode: ['rm -rf'] } }),
      ).rejects.toMatchObject({
        name: 'InvalidParameters',
      });
      await expect(region.ssm('SendCommand', { DocumentName: 'missing', InstanceIds: [id] })).rejects.toMatchObject({
        name: 'InvalidDocument',
      });
    });

    it(
      'records a failing script, truncates stdout at 24,000 characters and emits invocation status ' + 'events',
      async () => {
        const region = createRegion({
          runner: async () => ({ exitCode: 3, stdout: 'o'.repeat(30_000), stderr: 'boom' }),
        });
        const id = await running(region);
        const events: RegionEvent[] = [];
        region.onEvent((e) => events.push(e));
        const sent = await region.ssm('SendCommand', {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [id],
          Parameters: { commands: ['exit 3'] },
        });
        await region.idle();
        const inv = await region.ssm('GetCommandInvocation', { CommandId: sent.Command?.CommandId, InstanceId: id });
        expect(inv.Status).toBe('Failed');
        expect(inv.ResponseCode).toBe(3);
        expect(inv.StandardOutputContent).toHaveLength(24_000);
        expect(inv.StandardErrorContent).toBe('boom');
        const statuses = events
          .filter((e) => e['detail-type'] === 'EC2 Command Invocation Status-change Notification')
          .map((e) => [e.source, e.detail['instance-id'], e.detail['document-name'], e.detail.status]);
        expect(statuses).toEqual([
          ['aws.ssm', id, 'AWS-RunShellScript', 'Pending'],
          ['aws.ssm', id, 'AWS-RunShellScript', 'InProgress'],
          ['aws.ssm', id, 'AWS-RunShellScript', 'Failed'],
        ]);
        const list = await region.ssm('ListCommandInvocations', { InstanceId: id, Details: true });
        expect(list.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output?.length).toBe(2_500);
      },
    );

    // SSM applies Filters to each page it reads, not before paging: a filtered list can answer an empty page with a
    // NextToken (AWS documents this for ListCommandInvocations); callers must follow the token.
    it('pages a filtered ListCommandInvocations before filtering: an empty page can carry a NextToken', async () => {
      const region = createRegion();
      const id = await running(region);
      await region.ssm('CreateDocument', { Name: 'guest-sync', Content: JSON.stringify(DOC), DocumentType: 'Command' });
      const ours = await region.ssm('SendCommand', { DocumentName: 'guest-sync', InstanceIds: [id] });
      for (let i = 0; i < 3; i++) {
        await region.ssm('SendCommand', {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [id],
          Parameters: { commands: ['true'] },
        });
      }
      await region.idle();
      const list = (NextToken?: string) =>
        region.ssm('ListCommandInvocations', {
          InstanceId: id,
          Filters: [{ key: 'DocumentName', value: 'guest-sync' }],
          MaxResults: 2,
          ...(NextToken ? { NextToken } : {}),
        });
      const first = await list();
      expect(first.CommandInvocations).toEqual([]);
      expect(first.NextToken).toBeDefined();
      const second = await list(first.NextToken);
      expect(second.CommandInvocations?.map((c) => c.CommandId)).toEqual([ours.Command?.CommandId]);
      expect(second.NextToken).toBeUndefined();
    });

    it('filters ListCommandInvocations by DocumentName, Status and InvokedAfter/Before, newest first', async () => {
      const clock = manualClock();
      const region = createRegion({ clock: clock.now });
      const id = await running(region);
      await region.ssm('CreateDocument', { Name: 'guest-sync', Content: JSON.stringify(DOC), DocumentType: 'Command' });
      const first = await region.ssm('SendCommand', { DocumentName: 'guest-sync', InstanceIds: [id] });
      clock.advance(60_000);
      const other = await region.ssm('SendCommand', {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [id],
        Parameters: { commands: ['true'] },
      });
      clock.advance(60_000);
      const second = await region.ssm('SendCommand', { DocumentName: 'guest-sync', InstanceIds: [id] });
      await region.idle();
      const ids = async (Filters: { key: string; value: string }[]) =>
        (
          await region.ssm('ListCommandInvocations', { InstanceId: id, Filters: Filters as never })
        ).CommandInvocations?.map((c) => c.CommandId);
      expect(await ids([{ key: 'DocumentName', value: 'guest-sync' }])).toEqual([
        second.Command?.CommandId,
        first.Command?.CommandId,
      ]);
      // The default runner records and succeeds: nothing failed.
      expect(await ids([{ key: 'Status', value: 'Failed' }])).toEqual([]);
      expect(
        await ids([
          { key: 'Status', value: 'Success' },
          { key: 'DocumentName', value: 'AWS-RunShellScript' },
        ]),
      ).toEqual([other.Command?.CommandId]);
      const afterFirst = new Date(Date.parse('2026-11-24T10:00:30Z')).toISOString();
      expect(
        await ids([
          { key: 'DocumentName', value: 'guest-sync' },
          { key: 'InvokedAfter', value: afterFirst },
        ]),
      ).toEqual([second.Command?.CommandId]);
      expect(await ids([{ key: 'InvokedBefore', value: afterFirst }])).toEqual([first.Command?.CommandId]);
      await expect(ids([{ key: 'Colour', value: 'x' }])).rejects.toMatchObject({ name: 'InvalidFilterKey' });
      await expect(ids([{ key: 'InvokedAfter', value: 'yesterday' }])).rejects.toMatchObject({
        name: 'ValidationException',
      });
    });

    it('answers InvocationDoesNotExist for an unknown command', async () => {
      const region = createRegion();
      await expect(
        region.ssm('GetCommandInvocation', { CommandId: 'nope', InstanceId: 'i-0123456789abcdef0' }),
      ).rejects.toMatchObject({
        name: 'InvocationDoesNotExist',
      });
    });
  });

  describe('Method: documents', () => {
    it('creates from YAML, versions updates without changing the default, refuses duplicates', async () => {
      const region = createRegion();
      const created = await region.ssm('CreateDocument', {
        Name: 'guest-sync',
        Content: stringify(DOC),
        DocumentFormat: 'YAML',
      });
      expect(created.DocumentDescription).toMatchObject({
        DocumentVersion: '1',
        DefaultVersion: '1',
        Status: 'Active',
        SchemaVersion: '2.2',
      });
      await expect(
        region.ssm('CreateDocument', { Name: 'guest-sync', Content: stringify(DOC), DocumentFormat: 'YAML' }),
      ).rejects.toMatchObject({
        name: 'DocumentAlreadyExists',
      });
      const changed = { ...DOC, description: 'v2' };
      const updated = await region.ssm('UpdateDocument', {
        Name: 'guest-sync',
        Content: JSON.stringify(changed),
        DocumentVersion: '$LATEST',
      });
      expect(updated.DocumentDescription).toMatchObject({
        DocumentVersion: '2',
        LatestVersion: '2',
        DefaultVersion: '1',
      });
      await expect(
        region.ssm('UpdateDocument', {
          Name: 'guest-sync',
          Content: JSON.stringify(changed),
          DocumentVersion: '$LATEST',
        }),
      ).rejects.toMatchObject({
        name: 'DuplicateDocumentContent',
      });
      const described = await region.ssm('DescribeDocument', { Name: 'guest-sync' });
      expect(described.Document?.Description).toBe('test document');
      await expect(region.ssm('DescribeDocument', { Name: 'nope' })).rejects.toMatchObject({ name: 'InvalidDocument' });
      await expect(
        region.ssm('CreateDocument', { Name: 'bad-doc', Content: '{"schemaVersion":"2.2"}' }),
      ).rejects.toMatchObject({
        name: 'InvalidDocumentContent',
      });
    });
  });
});
