import {
  AllocateAddressCommand,
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ec2Adapter } from '#src/aws/ec2-port';
import { ssmAdapter } from '#src/aws/ssm-port';
import { eniClientToken, type ExecuteDeps, executePlan, mapLimit } from '#src/reconcile/execute';
import type { Action } from '#src/reconcile/plan';
import { ID } from '../helpers/actual';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
let deps: ExecuteDeps;

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  deps = {
    ec2: ec2Adapter(new EC2Client({ region: 'us-east-1' })),
    ssm: ssmAdapter(new SSMClient({ region: 'us-east-1' })),
    guestDocumentName: 'doc',
    dryRun: false,
  };
});
afterEach(() => {
  ec2Mock.reset();
});
// The unit project shares a worker between files: a mock left installed would answer every later file's SDK calls.
afterAll(() => {
  ec2Mock.restore();
  ssmMock.restore();
});

const allocate: Action = {
  kind: 'allocate',
  ref: 'new-0',
  ipIsOurs: true,
  target: { eniId: 'eni-0', privateIp: '10.0.0.11' },
  reason: 'address-without-eip',
};
const associate: Action = {
  kind: 'associate',
  allocation: { ref: 'new-0' },
  target: { eniId: 'eni-0', privateIp: '10.0.0.11' },
  ipIsOurs: true,
  fromPool: false,
  reason: 'address-without-eip',
};

describe('Function: executePlan', () => {
  it('allocates born-tagged and associates with ENI + private IP, never reassociating', async () => {
    ec2Mock.on(AllocateAddressCommand).resolves({ AllocationId: 'eipalloc-1', PublicIp: '203.0.113.1' });
    ec2Mock.on(AssociateAddressCommand).resolves({ AssociationId: 'eipassoc-1' });
    const outcomes = await executePlan(ID, [allocate, associate], deps);
    expect(outcomes.map((o) => o.result)).toEqual(['done', 'done']);
    expect(ec2Mock.commandCalls(AllocateAddressCommand)[0]?.args[0].input).toEqual({
      Domain: 'vpc',
      TagSpecifications: [
        {
          ResourceType: 'elastic-ip',
          Tags: [
            { Key: 'eip-autopilot:managed', Value: 'true' },
            { Key: 'eip-autopilot:instance-id', Value: ID },
            { Key: 'eip-autopilot:assigned-ip', Value: '10.0.0.11' },
          ],
        },
      ],
    });
    expect(ec2Mock.commandCalls(AssociateAddressCommand)[0]?.args[0].input).toEqual({
      AllocationId: 'eipalloc-1',
      NetworkInterfaceId: 'eni-0',
      PrivateIpAddress: '10.0.0.11',
      AllowReassociation: false,
    });
  });

  it('allocates nothing for a private IP that could not be assigned (no idle, billed address)', async () => {
    ec2Mock
      .on(AssignPrivateIpAddressesCommand)
      .rejects(Object.assign(new Error('full'), { name: 'PrivateIpAddressLimitExceeded' }));
    const assign: Action = { kind: 'assign-private-ips', eniId: 'eni-0', count: 1, reason: 'need-more-addresses' };
    const target = { eniId: 'eni-0', newIp: 0 };
    const outcomes = await executePlan(ID, [assign, { ...allocate, target }, { ...associate, target }], deps);
    expect(outcomes.map((o) => [o.action.kind, o.result])).toEqual([
      ['assign-private-ips', 'failed'],
      ['allocate', 'skipped'],
      ['associate', 'skipped'],
    ]);
    expect(ec2Mock.commandCalls(AllocateAddressCommand)).toHaveLength(0);
  });

  it('releases a fresh address at once when its association fails', async () => {
    ec2Mock.on(AllocateAddressCommand).resolves({ AllocationId: 'eipalloc-1', PublicIp: '203.0.113.1' });
    ec2Mock
      .on(AssociateAddressCommand)
      .rejects(Object.assign(new Error('taken'), { name: 'Resource.AlreadyAssociated' }));
    ec2Mock.on(ReleaseAddressCommand).resolves({});
    const outcomes = await executePlan(ID, [allocate, associate], deps);
    expect(outcomes.map((o) => [o.result, o.error])).toEqual([
      ['done', undefined],
      ['failed', 'Resource.AlreadyAssociated'],
    ]);
    expect(ec2Mock.commandCalls(ReleaseAddressCommand).map((c) => c.args[0].input)).toEqual([
      { AllocationId: 'eipalloc-1' },
    ]);
  });

  it('skips the association of an allocation that failed', async () => {
    ec2Mock.on(AllocateAddressCommand).rejects(Object.assign(new Error('quota'), { name: 'AddressLimitExceeded' }));
    const outcomes = await executePlan(ID, [allocate, associate], deps);
    expect(outcomes.map((o) => [o.result, o.error])).toEqual([
      ['failed', 'AddressLimitExceeded'],
      ['skipped', 'allocation failed'],
    ]);
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
  });

  it('creates an ENI with its ClientToken, attaches it and sets DeleteOnTermination', async () => {
    ec2Mock.on(CreateNetworkInterfaceCommand).resolves({
      NetworkInterface: {
        NetworkInterfaceId: 'eni-9',
        PrivateIpAddress: '10.0.0.30',
        PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.0.30' }],
      },
    });
    ec2Mock.on(AttachNetworkInterfaceCommand).resolves({ AttachmentId: 'eni-attach-9' });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const create: Action = {
      kind: 'create-eni',
      deviceIndex: 1,
      subnetId: 'subnet-1',
      securityGroupIds: ['sg-1'],
      secondaryCount: 0,
      reason: 'existing-enis-full',
    };
    await executePlan(ID, [create], { ...deps, jobId: 'msg-1' });
    expect(ec2Mock.commandCalls(CreateNetworkInterfaceCommand)[0]?.args[0].input).toMatchObject({
      SubnetId: 'subnet-1',
      Groups: ['sg-1'],
      ClientToken: eniClientToken(ID, 1, 'msg-1'),
    });
    expect(ec2Mock.commandCalls(AttachNetworkInterfaceCommand)[0]?.args[0].input).toEqual({
      NetworkInterfaceId: 'eni-9',
      InstanceId: ID,
      DeviceIndex: 1,
    });
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)[0]?.args[0].input).toEqual({
      NetworkInterfaceId: 'eni-9',
      Attachment: { AttachmentId: 'eni-attach-9', DeleteOnTermination: true },
    });
  });

  // A token is bound to one request: the SQS message id makes a redelivery of the job the same request (EC2 returns
  // the ENI it created) and a new job a new one.
  it('derives the ENI ClientToken from instance, device and job: same job same token, new job new token', () => {
    const token = eniClientToken(ID, 1, 'b1f0c6a2-7d6e-4b9a-9c1e-5f3a2d8e7c10');
    expect(token).toBe(eniClientToken(ID, 1, 'b1f0c6a2-7d6e-4b9a-9c1e-5f3a2d8e7c10'));
    expect(token).not.toBe(eniClientToken(ID, 1, 'a0e9b5f1-6c5d-4a89-8b0d-4e2f1c7d6b09'));
    expect(token).not.toBe(eniClientToken(ID, 2, 'b1f0c6a2-7d6e-4b9a-9c1e-5f3a2d8e7c10'));
    expect(token).not.toBe(eniClientToken('i-0fedcba9876543210', 1, 'b1f0c6a2-7d6e-4b9a-9c1e-5f3a2d8e7c10'));
    // EC2: at most 64 ASCII characters.
    expect(token).toMatch(/^[\x21-\x7e]{1,64}$/);
    expect(eniClientToken(ID, 15, 'x'.repeat(80))).toMatch(/^[\x21-\x7e]{1,64}$/);
  });

  it('makes no call in dry-run mode', async () => {
    const outcomes = await executePlan(ID, [allocate, associate], { ...deps, dryRun: true });
    expect(outcomes.map((o) => o.result)).toEqual(['skipped', 'skipped']);
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});

describe('Function: mapLimit', () => {
  it('never runs more than the limit at once and keeps the order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      return n * 2;
    });
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(peak).toBe(4);
  });
});
