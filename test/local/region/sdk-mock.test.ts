import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  DescribeAddressesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegion } from '#local/region/model/index';
import { mockRegion, type RegionMocks } from '#local/region/sdk-mock';
import { FifoQueue, LocalSqs } from '#local/sqs-fifo';

describe('Function: mockRegion', () => {
  let mocks: RegionMocks | undefined;
  afterEach(() => mocks?.restore());

  it('answers real SDK clients from the model, errors included', async () => {
    const region = createRegion({ eipQuota: 1 });
    mocks = mockRegion(region);
    const client = new EC2Client({ region: 'us-east-1' });
    const launched = await client.send(new RunInstancesCommand({ ImageId: 'ami-1', MinCount: 1, MaxCount: 1 }));
    const eni = launched.Instances?.[0]?.NetworkInterfaces?.[0]?.NetworkInterfaceId;
    const a = await client.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await client.send(
      new AssociateAddressCommand({ AllocationId: a.AllocationId, NetworkInterfaceId: eni, AllowReassociation: false }),
    );
    const out = await client.send(new DescribeAddressesCommand({}));
    expect(out.Addresses?.[0]?.NetworkInterfaceId).toBe(eni);
    expect(out.$metadata.httpStatusCode).toBe(200);
    await expect(client.send(new AllocateAddressCommand({ Domain: 'vpc' }))).rejects.toMatchObject({
      name: 'AddressLimitExceeded',
    });
    expect(region.calls.map((c) => c.action)).toEqual([
      'RunInstances',
      'AllocateAddress',
      'AssociateAddress',
      'DescribeAddresses',
      'AllocateAddress',
    ]);
  });

  it('serves SSM and SQS, and refuses commands the region does not serve', async () => {
    const region = createRegion();
    const queues = new LocalSqs();
    const queue = queues.add(new FifoQueue({ name: 'jobs.fifo' }));
    mocks = mockRegion(region, queues);
    const ssm = new SSMClient({ region: 'us-east-1' });
    await expect(
      ssm.send(new SendCommandCommand({ DocumentName: 'missing', InstanceIds: ['i-0123456789abcdef0'] })),
    ).rejects.toMatchObject({
      name: 'InvalidDocument',
    });
    const sqs = new SQSClient({ region: 'us-east-1' });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"instanceId":"i-1"}',
        MessageGroupId: 'i-1',
        MessageDeduplicationId: 'e1',
      }),
    );
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10 }));
    expect(got.Messages?.map((m) => m.Body)).toEqual(['{"instanceId":"i-1"}']);
    const { DescribeVpcsCommand } = await import('@aws-sdk/client-ec2');
    await expect(new EC2Client({ region: 'us-east-1' }).send(new DescribeVpcsCommand({}))).rejects.toMatchObject({
      name: 'UnsupportedOperation',
    });
  });
});
