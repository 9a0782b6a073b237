import * as ec2 from '@aws-sdk/client-ec2';
import * as sqs from '@aws-sdk/client-sqs';
import * as ssm from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegion, type Region } from '#local/region/model/index';
import { type RegionServer, startRegionServer } from '#local/region/server';
import { FifoQueue, LocalSqs } from '#local/sqs-fifo';

const credentials = { accessKeyId: 'AKIDLOCALREGION', secretAccessKey: 'local-region-secret' };

describe('Function: startRegionServer', () => {
  let region: Region;
  let server: RegionServer;
  let queue: FifoQueue;
  let ec2c: ec2.EC2Client;
  let ssmc: ssm.SSMClient;
  let sqsc: sqs.SQSClient;

  beforeAll(async () => {
    region = createRegion({ eipQuota: 3 });
    const queues = new LocalSqs();
    server = await startRegionServer({ region, sqs: queues });
    queue = queues.add(new FifoQueue({ name: 'jobs.fifo', url: server.queueUrl('jobs.fifo') }));
    const common = { region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 };
    ec2c = new ec2.EC2Client(common);
    ssmc = new ssm.SSMClient(common);
    sqsc = new sqs.SQSClient(common);
  });
  afterAll(async () => {
    await server.close();
  });

  const expectError = async (p: Promise<unknown>, name: string, status = 400) => {
    await expect(p).rejects.toMatchObject({ name, $metadata: { httpStatusCode: status } });
  };

  it('listens on loopback only', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the whole EC2 life cycle of a multi-EIP instance to a real EC2Client', async () => {
    const launched = await ec2c.send(
      new ec2.RunInstancesCommand({
        ImageId: 'ami-12345678',
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web & <1>' }] }],
      }),
    );
    const inst = launched.Instances?.[0];
    const id = inst?.InstanceId ?? '';
    const eni0 = inst?.NetworkInterfaces?.[0]?.NetworkInterfaceId ?? '';
    expect(inst?.Tags).toEqual([{ Key: 'Name', Value: 'web & <1>' }]);
    expect(inst?.LaunchTime).toBeInstanceOf(Date);

    await ec2c.send(new ec2.CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'eip-count', Value: '3' }] }));
    const filtered = await ec2c.send(
      new ec2.DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:eip-count', Values: ['3'] },
          { Name: 'instance-state-name', Values: ['running', 'pending'] },
        ],
        MaxResults: 5,
      }),
    );
    expect(filtered.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(id);

    const types = await ec2c.send(new ec2.DescribeInstanceTypesCommand({ InstanceTypes: ['t3.micro'] }));
    expect(types.InstanceTypes?.[0]?.NetworkInfo).toMatchObject({
      MaximumNetworkInterfaces: 2,
      Ipv4AddressesPerInterface: 2,
    });
    const attrs = await ec2c.send(
      new ec2.DescribeAccountAttributesCommand({ AttributeNames: ['vpc-max-elastic-ips' as never] }),
    );
    expect(attrs.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue).toBe('3');

    const assigned = await ec2c.send(
      new ec2.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni0, SecondaryPrivateIpAddressCount: 1 }),
    );
    const secondary = assigned.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress ?? '';
    await expectError(
      ec2c.send(
        new ec2.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni0, SecondaryPrivateIpAddressCount: 1 }),
      ),
      'PrivateIpAddressLimitExceeded',
    );

    const created = await ec2c.send(
      new ec2.CreateNetworkInterfaceCommand({
        SubnetId: inst?.SubnetId,
        ClientToken: `${id}-1`,
        TagSpecifications: [
          { ResourceType: 'network-interface', Tags: [{ Key: 'eip-autopilot:managed', Value: 'true' }] },
        ],
      }),
    );
    const eni1 = created.NetworkInterface?.NetworkInterfaceId ?? '';
    const attached = await ec2c.send(
      new ec2.AttachNetworkInterfaceCommand({ InstanceId: id, NetworkInterfaceId: eni1, DeviceIndex: 1 }),
    );
    await ec2c.send(
      new ec2.ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: eni1,
        Attachment: { AttachmentId: attached.AttachmentId, DeleteOnTermination: true },
      }),
    );
    const spare = await ec2c.send(new ec2.CreateNetworkInterfaceCommand({ SubnetId: inst?.SubnetId }));
    await expectError(
      ec2c.send(
        new ec2.AttachNetworkInterfaceCommand({
          InstanceId: id,
          NetworkInterfaceId: spare.NetworkInterface?.NetworkInterfaceId,
          DeviceIndex: 2,
        }),
      ),
      'AttachmentLimitExceeded',
    );
    await ec2c.send(
      new ec2.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: spare.NetworkInterface?.NetworkInterfaceId }),
    );

    const tags = [{ ResourceType: 'elastic-ip' as const, Tags: [{ Key: 'eip-autopilot:instance-id', Value: id }] }];
    const allocs = [];
    for (let k = 0; k < 3; k++)
      allocs.push(await ec2c.send(new ec2.AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tags })));
    await expectError(ec2c.send(new ec2.AllocateAddressCommand({ Domain: 'vpc' })), 'AddressLimitExceeded');
    const targets: [string, string][] = [
      [eni0, inst?.PrivateIpAddress ?? ''],
      [eni0, secondary],
      [eni1, created.NetworkInterface?.PrivateIpAddress ?? ''],
    ];
    const associations = [];
    for (const [k, [eni, ip]] of targets.entries()) {
      associations.push(
        await ec2c.send(
          new ec2.AssociateAddressCommand({
            AllocationId: allocs[k]?.AllocationId,
            NetworkInterfaceId: eni,
            PrivateIpAddress: ip,
            AllowReassociation: false,
          }),
        ),
      );
    }
    await expectError(
      ec2c.send(
        new ec2.AssociateAddressCommand({
          AllocationId: allocs[0]?.AllocationId,
          NetworkInterfaceId: eni1,
          AllowReassociation: false,
        }),
      ),
      'Resource.AlreadyAssociated',
    );
    await expectError(
      ec2c.send(new ec2.AssociateAddressCommand({ AllocationId: allocs[0]?.AllocationId, InstanceId: id })),
      'InvalidInstanceID',
    );

    const addrs = await ec2c.send(
      new ec2.DescribeAddressesCommand({
        Filters: [
          { Name: 'tag:eip-autopilot:instance-id', Values: [id] },
          { Name: 'domain', Values: ['vpc'] },
        ],
      }),
    );
    expect(addrs.Addresses?.map((a) => [a.NetworkInterfaceId, a.PrivateIpAddress, a.InstanceId])).toEqual(
      targets.map(([e, ip]) => [e, ip, id]),
    );
    expect(addrs.Addresses?.[0]?.Tags).toEqual([{ Key: 'eip-autopilot:instance-id', Value: id }]);
    const enis = await ec2c.send(
      new ec2.DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }),
    );
    expect(enis.NetworkInterfaces?.map((e) => e.PrivateIpAddresses?.map((p) => p.Association?.AllocationId))).toEqual([
      [allocs[0]?.AllocationId, allocs[1]?.AllocationId],
      [allocs[2]?.AllocationId],
    ]);
    expect(enis.NetworkInterfaces?.[1]?.TagSet).toEqual([{ Key: 'eip-autopilot:managed', Value: 'true' }]);

    await expectError(
      ec2c.send(new ec2.ReleaseAddressCommand({ AllocationId: allocs[1]?.AllocationId })),
      'InvalidIPAddress.InUse',
    );
    await ec2c.send(new ec2.DisassociateAddressCommand({ AssociationId: associations[1]?.AssociationId }));
    await ec2c.send(
      new ec2.UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eni0, PrivateIpAddresses: [secondary] }),
    );
    await ec2c.send(new ec2.ReleaseAddressCommand({ AllocationId: allocs[1]?.AllocationId }));

    await ec2c.send(new ec2.StopInstancesCommand({ InstanceIds: [id] }));
    const started = await ec2c.send(new ec2.StartInstancesCommand({ InstanceIds: [id] }));
    expect(started.StartingInstances?.[0]).toMatchObject({
      PreviousState: { Name: 'stopped' },
      CurrentState: { Name: 'pending' },
    });
    await ec2c.send(new ec2.DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'eip-count' }] }));
    const stillTagged = await ec2c.send(new ec2.DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(stillTagged.Reservations?.[0]?.Instances?.[0]?.Tags?.map((t) => t.Key)).toEqual(['Name']);

    const detachable = await ec2c.send(new ec2.CreateNetworkInterfaceCommand({ SubnetId: inst?.SubnetId }));
    const att = await ec2c
      .send(
        new ec2.AttachNetworkInterfaceCommand({
          InstanceId: id,
          NetworkInterfaceId: detachable.NetworkInterface?.NetworkInterfaceId,
          DeviceIndex: 5,
        }),
      )
      .catch((e: Error) => e);
    expect(att).toMatchObject({ name: 'AttachmentLimitExceeded' });
    await ec2c.send(new ec2.DetachNetworkInterfaceCommand({ AttachmentId: attached.AttachmentId }));
    await ec2c.send(new ec2.TerminateInstancesCommand({ InstanceIds: [id] }));
    const left = await ec2c.send(new ec2.DescribeAddressesCommand({ AllocationIds: [allocs[0]?.AllocationId ?? ''] }));
    expect(left.Addresses?.[0]).toMatchObject({ AllocationId: allocs[0]?.AllocationId });
    expect(left.Addresses?.[0]?.AssociationId).toBeUndefined();
  });

  it.each([
    ['InvalidInstanceID.NotFound', () => new ec2.TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })],
    [
      'InvalidAllocationID.NotFound',
      () => new ec2.ReleaseAddressCommand({ AllocationId: 'eipalloc-0123456789abcdef0' }),
    ],
    [
      'InvalidNetworkInterfaceID.NotFound',
      () => new ec2.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] }),
    ],
    ['InvalidParameterValue', () => new ec2.DescribeAddressesCommand({ Filters: [{ Name: 'bogus', Values: ['1'] }] })],
  ])('answers %s as EC2 does', async (code, command) => {
    await expectError(ec2c.send(command() as never), code);
  });

  it('refuses unknown actions and parameters like EC2', async () => {
    const post = (body: string) =>
      fetch(server.url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const bad = await post('Action=DescribeAddresses&Version=2016-11-15&Filter.1.Nmae=domain');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('<Code>UnknownParameter</Code>');
    const unknown = await post('Action=DescribeVpcs&Version=2016-11-15');
    expect(await unknown.text()).toContain('<Code>InvalidAction</Code>');
  });

  it('pages DescribeInstances with MaxResults/NextToken over the wire', async () => {
    await ec2c.send(new ec2.RunInstancesCommand({ ImageId: 'ami-1', MinCount: 12, MaxCount: 12 }));
    const ids: string[] = [];
    for await (const page of ec2.paginateDescribeInstances(
      { client: ec2c, pageSize: 5 },
      { Filters: [{ Name: 'instance-state-name', Values: ['running'] }] },
    )) {
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) ids.push(i.InstanceId ?? '');
    }
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
  });

  it('answers RequestLimitExceeded with HTTP 503, which the SDK retries', async () => {
    const throttled = createRegion({ throttleFraction: 1 });
    const local = await startRegionServer({ region: throttled });
    try {
      const client = new ec2.EC2Client({ region: 'us-east-1', endpoint: local.url, credentials, maxAttempts: 2 });
      await expectError(client.send(new ec2.DescribeAddressesCommand({})), 'RequestLimitExceeded', 503);
      expect(throttled.calls).toHaveLength(2);
    } finally {
      await local.close();
    }
  });

  it('serves SSM documents and Run Command over JSON 1.1', async () => {
    const launched = await ec2c.send(new ec2.RunInstancesCommand({ ImageId: 'ami-1', MinCount: 1, MaxCount: 1 }));
    const id = launched.Instances?.[0]?.InstanceId ?? '';
    const content = JSON.stringify({
      schemaVersion: '2.2',
      description: 'v1',
      parameters: {},
      mainSteps: [{ action: 'aws:runShellScript', name: 'sync', inputs: { runCommand: ['echo hi'] } }],
    });
    const created = await ssmc.send(
      new ssm.CreateDocumentCommand({ Name: 'eip-autopilot-guest-sync', Content: content, DocumentType: 'Command' }),
    );
    expect(created.DocumentDescription?.CreatedDate).toBeInstanceOf(Date);
    await ssmc.send(
      new ssm.UpdateDocumentCommand({
        Name: 'eip-autopilot-guest-sync',
        Content: content.replace('v1', 'v2'),
        DocumentVersion: '$LATEST',
      }),
    );
    const described = await ssmc.send(
      new ssm.DescribeDocumentCommand({ Name: 'eip-autopilot-guest-sync', DocumentVersion: '$LATEST' }),
    );
    expect(described.Document).toMatchObject({ DocumentVersion: '2', Description: 'v2' });
    await expectError(ssmc.send(new ssm.DescribeDocumentCommand({ Name: 'missing' })), 'InvalidDocument');

    const info = await ssmc.send(
      new ssm.DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
    );
    expect(info.InstanceInformationList?.[0]?.PingStatus).toBe('Online');
    const sent = await ssmc.send(
      new ssm.SendCommandCommand({ DocumentName: 'eip-autopilot-guest-sync', InstanceIds: [id] }),
    );
    await region.idle();
    const inv = await ssmc.send(
      new ssm.GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: id }),
    );
    expect(inv.Status).toBe('Success');
    const list = await ssmc.send(
      new ssm.ListCommandInvocationsCommand({ CommandId: sent.Command?.CommandId, Details: true }),
    );
    expect(list.CommandInvocations?.[0]?.RequestedDateTime).toBeInstanceOf(Date);
    await expectError(
      ssmc.send(
        new ssm.SendCommandCommand({ DocumentName: 'eip-autopilot-guest-sync', InstanceIds: ['i-0123456789abcdef0'] }),
      ),
      'InvalidInstanceId',
    );
    await expectError(
      ssmc.send(new ssm.GetCommandInvocationCommand({ CommandId: 'nope', InstanceId: id })),
      'InvocationDoesNotExist',
    );
  });

  it('serves SQS FIFO over JSON 1.0', async () => {
    const url = (await sqsc.send(new sqs.GetQueueUrlCommand({ QueueName: 'jobs.fifo' }))).QueueUrl;
    expect(url).toBe(queue.url);
    await sqsc.send(
      new sqs.SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"instanceId":"i-1"}',
        MessageGroupId: 'i-1',
        MessageDeduplicationId: 'a',
      }),
    );
    const batch = await sqsc.send(
      new sqs.SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [{ Id: '1', MessageBody: '{"instanceId":"i-2"}', MessageGroupId: 'i-2', MessageDeduplicationId: 'b' }],
      }),
    );
    expect(batch.Successful).toHaveLength(1);
    const got = await sqsc.send(
      new sqs.ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );
    expect(got.Messages?.map((m) => m.Attributes?.MessageGroupId)).toEqual(['i-1', 'i-2']);
    for (const m of got.Messages ?? [])
      await sqsc.send(new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    const attrs = await sqsc.send(new sqs.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
    await expectError(sqsc.send(new sqs.GetQueueUrlCommand({ QueueName: 'missing.fifo' })), 'QueueDoesNotExist');
  });
});
