import { describe, expect, it } from 'vitest';
import { createRegion, type Ec2Change, manualClock, type Region, type RegionEvent } from '#local/region/model/index';
import type { LabInstance } from '#local/lab/vpc-lab';

const MANAGED = [{ Key: 'eip-autopilot:managed', Value: 'true' }];

async function launch(region: Region, type = 't3.micro', tags: Record<string, string> = {}) {
  const r = await region.ec2('RunInstances', {
    ImageId: 'ami-12345678',
    InstanceType: type as never,
    MinCount: 1,
    MaxCount: 1,
    TagSpecifications: Object.keys(tags).length
      ? [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }]
      : undefined,
  });
  const inst = r.Instances?.[0];
  const eni = inst?.NetworkInterfaces?.[0];
  if (!inst?.InstanceId || !eni?.NetworkInterfaceId || !eni.PrivateIpAddress) throw new Error('launch failed');
  return { id: inst.InstanceId, eni: eni.NetworkInterfaceId, ip: eni.PrivateIpAddress, subnet: inst.SubnetId ?? '' };
}

async function allocate(region: Region) {
  const a = await region.ec2('AllocateAddress', {
    Domain: 'vpc',
    TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: MANAGED }],
  });
  return { id: a.AllocationId ?? '', ip: a.PublicIp ?? '' };
}

async function describeInstance(region: Region, id: string) {
  const out = await region.ec2('DescribeInstances', { InstanceIds: [id] });
  const inst = out.Reservations?.[0]?.Instances?.[0];
  if (!inst) throw new Error('instance not described');
  return inst;
}

async function rejects(p: Promise<unknown>, code: string, status = 400): Promise<void> {
  await expect(p).rejects.toMatchObject({ name: code, statusCode: status });
}

describe('Class: Ec2Model', () => {
  describe('Method: AssociateAddress', () => {
    it(
      'associates each EIP with its own private IP and reports it in DescribeAddresses, ENIs and ' + 'instances',
      async () => {
        const region = createRegion();
        const inst = await launch(region);
        const assigned = await region.ec2('AssignPrivateIpAddresses', {
          NetworkInterfaceId: inst.eni,
          SecondaryPrivateIpAddressCount: 1,
        });
        const secondary = assigned.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress ?? '';
        const a = await allocate(region);
        const b = await allocate(region);

        await region.ec2('AssociateAddress', {
          AllocationId: a.id,
          NetworkInterfaceId: inst.eni,
          PrivateIpAddress: inst.ip,
          AllowReassociation: false,
        });
        const assoc = await region.ec2('AssociateAddress', {
          AllocationId: b.id,
          NetworkInterfaceId: inst.eni,
          PrivateIpAddress: secondary,
          AllowReassociation: false,
        });

        const addrs = await region.ec2('DescribeAddresses', { Filters: [{ Name: 'instance-id', Values: [inst.id] }] });
        expect(
          addrs.Addresses?.map((x) => [x.PublicIp, x.PrivateIpAddress, x.NetworkInterfaceId, x.InstanceId]),
        ).toEqual([
          [a.ip, inst.ip, inst.eni, inst.id],
          [b.ip, secondary, inst.eni, inst.id],
        ]);
        const enis = await region.ec2('DescribeNetworkInterfaces', { NetworkInterfaceIds: [inst.eni] });
        const entry = enis.NetworkInterfaces?.[0]?.PrivateIpAddresses?.find((p) => p.PrivateIpAddress === secondary);
        expect(entry?.Association).toMatchObject({
          AllocationId: b.id,
          AssociationId: assoc.AssociationId,
          PublicIp: b.ip,
        });
        const described = await describeInstance(region, inst.id);
        expect(described.PublicIpAddress).toBe(a.ip);
        expect(
          described.NetworkInterfaces?.[0]?.PrivateIpAddresses?.map((p) => [
            p.PrivateIpAddress,
            p.Association?.PublicIp,
          ]),
        ).toEqual([
          [inst.ip, a.ip],
          [secondary, b.ip],
        ]);
      },
    );

    it('with InstanceId only targets the primary IP and moves the EIP already there off it', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const a = await allocate(region);
      const b = await allocate(region);
      await region.ec2('AssociateAddress', { AllocationId: a.id, InstanceId: inst.id });
      await region.ec2('AssociateAddress', { AllocationId: b.id, InstanceId: inst.id });
      const addrs = await region.ec2('DescribeAddresses', {});
      expect(addrs.Addresses?.map((x) => [x.AllocationId, x.PrivateIpAddress])).toEqual([
        [a.id, undefined],
        [b.id, inst.ip],
      ]);
    });

    it('with InstanceId only is refused when the instance has several ENIs', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const eni = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
      await region.ec2('AttachNetworkInterface', {
        InstanceId: inst.id,
        NetworkInterfaceId: eni.NetworkInterface?.NetworkInterfaceId,
        DeviceIndex: 1,
      });
      const a = await allocate(region);
      await rejects(region.ec2('AssociateAddress', { AllocationId: a.id, InstanceId: inst.id }), 'InvalidInstanceID');
    });

    it('moves an associated EIP by default and refuses with AllowReassociation=false', async () => {
      const region = createRegion();
      const one = await launch(region);
      const two = await launch(region);
      const a = await allocate(region);
      await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: one.eni,
        PrivateIpAddress: one.ip,
      });
      await rejects(
        region.ec2('AssociateAddress', {
          AllocationId: a.id,
          NetworkInterfaceId: two.eni,
          PrivateIpAddress: two.ip,
          AllowReassociation: false,
        }),
        'Resource.AlreadyAssociated',
      );
      await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: two.eni,
        PrivateIpAddress: two.ip,
      });
      const addr = (await region.ec2('DescribeAddresses', { AllocationIds: [a.id] })).Addresses?.[0];
      expect(addr?.InstanceId).toBe(two.id);
    });

    it('refuses AllowReassociation=false when the private IP already carries another EIP', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const a = await allocate(region);
      const b = await allocate(region);
      await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: inst.eni,
        PrivateIpAddress: inst.ip,
      });
      await rejects(
        region.ec2('AssociateAddress', {
          AllocationId: b.id,
          NetworkInterfaceId: inst.eni,
          PrivateIpAddress: inst.ip,
          AllowReassociation: false,
        }),
        'Resource.AlreadyAssociated',
      );
    });

    it('refuses a private IP that is not on the ENI and unknown ids', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const a = await allocate(region);
      await rejects(
        region.ec2('AssociateAddress', {
          AllocationId: a.id,
          NetworkInterfaceId: inst.eni,
          PrivateIpAddress: '10.0.63.200',
        }),
        'InvalidParameterValue',
      );
      await rejects(
        region.ec2('AssociateAddress', { AllocationId: 'eipalloc-0123456789abcdef0', NetworkInterfaceId: inst.eni }),
        'InvalidAllocationID.NotFound',
      );
      await rejects(
        region.ec2('AssociateAddress', { AllocationId: a.id, NetworkInterfaceId: 'eni-0123456789abcdef0' }),
        'InvalidNetworkInterfaceID.NotFound',
      );
      await rejects(
        region.ec2('AssociateAddress', { AllocationId: a.id, InstanceId: 'i-0123456789abcdef0' }),
        'InvalidInstanceID.NotFound',
      );
    });
  });

  describe('Method: limits', () => {
    it.each([
      ['t3.micro', 2, 2],
      ['t3.medium', 3, 6],
      ['m5.large', 3, 10],
      ['c5.4xlarge', 8, 30],
    ])('%s allows %i ENIs x %i IPv4 and refuses one more of each', async (type, enis, ips) => {
      const region = createRegion();
      const inst = await launch(region, type);
      await region.ec2('AssignPrivateIpAddresses', {
        NetworkInterfaceId: inst.eni,
        SecondaryPrivateIpAddressCount: ips - 1,
      });
      await rejects(
        region.ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: inst.eni, SecondaryPrivateIpAddressCount: 1 }),
        'PrivateIpAddressLimitExceeded',
      );
      for (let device = 1; device < enis; device++) {
        const eni = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
        await region.ec2('AttachNetworkInterface', {
          InstanceId: inst.id,
          NetworkInterfaceId: eni.NetworkInterface?.NetworkInterfaceId,
          DeviceIndex: device,
        });
      }
      const extra = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
      await rejects(
        region.ec2('AttachNetworkInterface', {
          InstanceId: inst.id,
          NetworkInterfaceId: extra.NetworkInterface?.NetworkInterfaceId,
          DeviceIndex: enis,
        }),
        'AttachmentLimitExceeded',
      );
      const types = await region.ec2('DescribeInstanceTypes', { InstanceTypes: [type as never] });
      expect(types.InstanceTypes?.[0]?.NetworkInfo).toMatchObject({
        MaximumNetworkInterfaces: enis,
        Ipv4AddressesPerInterface: ips,
      });
    });

    it('assigns all requested addresses or none', async () => {
      const region = createRegion();
      const inst = await launch(region, 't3.micro');
      await rejects(
        region.ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: inst.eni, SecondaryPrivateIpAddressCount: 2 }),
        'PrivateIpAddressLimitExceeded',
      );
      const eni = (await region.ec2('DescribeNetworkInterfaces', { NetworkInterfaceIds: [inst.eni] }))
        .NetworkInterfaces?.[0];
      expect(eni?.PrivateIpAddresses).toHaveLength(1);
    });
  });

  describe('Method: AllocateAddress / ReleaseAddress', () => {
    it('enforces the EIP quota with AddressLimitExceeded and reports it in DescribeAccountAttributes', async () => {
      const region = createRegion({ eipQuota: 2 });
      await allocate(region);
      await allocate(region);
      await rejects(allocate(region), 'AddressLimitExceeded');
      const attrs = await region.ec2('DescribeAccountAttributes', { AttributeNames: ['vpc-max-elastic-ips' as never] });
      expect(attrs.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue).toBe('2');
    });

    it('creates an address with its tags or not at all', async () => {
      const region = createRegion();
      await rejects(
        region.ec2('AllocateAddress', {
          TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'aws:reserved', Value: 'x' }] }],
        }),
        'InvalidParameterValue',
      );
      await rejects(
        region.ec2('AllocateAddress', { TagSpecifications: [{ ResourceType: 'instance', Tags: MANAGED }] }),
        'InvalidParameterValue',
      );
      expect((await region.ec2('DescribeAddresses', {})).Addresses).toEqual([]);
      const a = await allocate(region);
      const tagged = await region.ec2('DescribeAddresses', {
        Filters: [{ Name: 'tag:eip-autopilot:managed', Values: ['true'] }],
      });
      expect(tagged.Addresses?.map((x) => x.AllocationId)).toEqual([a.id]);
    });

    it('refuses to release an associated address and releases it once disassociated', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const a = await allocate(region);
      const assoc = await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: inst.eni,
        PrivateIpAddress: inst.ip,
      });
      await rejects(region.ec2('ReleaseAddress', { AllocationId: a.id }), 'InvalidIPAddress.InUse');
      await region.ec2('DisassociateAddress', { AssociationId: assoc.AssociationId });
      await region.ec2('ReleaseAddress', { AllocationId: a.id });
      await rejects(region.ec2('ReleaseAddress', { AllocationId: a.id }), 'InvalidAllocationID.NotFound');
      await rejects(
        region.ec2('DisassociateAddress', { AssociationId: assoc.AssociationId }),
        'InvalidAssociationID.NotFound',
      );
    });
  });

  describe('Method: CreateNetworkInterface', () => {
    it('returns the same ENI for the same ClientToken and refuses the token with other parameters', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const input = { SubnetId: inst.subnet, ClientToken: `${inst.id}-1`, Description: 'eip-autopilot' };
      const first = await region.ec2('CreateNetworkInterface', input);
      const second = await region.ec2('CreateNetworkInterface', input);
      expect(second.NetworkInterface?.NetworkInterfaceId).toBe(first.NetworkInterface?.NetworkInterfaceId);
      expect((await region.ec2('DescribeNetworkInterfaces', {})).NetworkInterfaces).toHaveLength(2);
      await rejects(
        region.ec2('CreateNetworkInterface', { ...input, Description: 'other' }),
        'IdempotentParameterMismatch',
      );
    });

    // EC2 idempotency: a token is bound to one request. Its retry returns the first answer even when that ENI has
    // been deleted since; the token with other parameters is refused.
    it('answers a retried ClientToken with the first result, even after that ENI was deleted', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const input = { SubnetId: inst.subnet, ClientToken: 'tok-deleted', Description: 'eip-autopilot' };
      const first = await region.ec2('CreateNetworkInterface', input);
      const eniId = first.NetworkInterface?.NetworkInterfaceId ?? '';
      await region.ec2('DeleteNetworkInterface', { NetworkInterfaceId: eniId });
      const again = await region.ec2('CreateNetworkInterface', input);
      expect(again.NetworkInterface?.NetworkInterfaceId).toBe(eniId);
      expect((await region.ec2('DescribeNetworkInterfaces', {})).NetworkInterfaces).toHaveLength(1);
      await rejects(
        region.ec2('AttachNetworkInterface', { NetworkInterfaceId: eniId, InstanceId: inst.id, DeviceIndex: 1 }),
        'InvalidNetworkInterfaceID.NotFound',
      );
      await rejects(
        region.ec2('CreateNetworkInterface', { ...input, SecondaryPrivateIpAddressCount: 1 }),
        'IdempotentParameterMismatch',
      );
    });

    // EC2 filters each page after reading it: a filtered describe can answer an empty page with a NextToken.
    it('pages a filtered DescribeNetworkInterfaces before filtering: an empty page can carry a NextToken', async () => {
      const region = createRegion();
      const inst = await launch(region);
      for (let n = 0; n < 6; n++) await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
      const ours = await region.ec2('CreateNetworkInterface', {
        SubnetId: inst.subnet,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'mine', Value: 'yes' }] }],
      });
      const list = (NextToken?: string) =>
        region.ec2('DescribeNetworkInterfaces', {
          Filters: [{ Name: 'tag:mine', Values: ['yes'] }],
          MaxResults: 5,
          ...(NextToken ? { NextToken } : {}),
        });
      const first = await list();
      expect(first.NetworkInterfaces).toEqual([]);
      expect(first.NextToken).toBeDefined();
      const second = await list(first.NextToken);
      expect(second.NetworkInterfaces?.map((e) => e.NetworkInterfaceId)).toEqual([
        ours.NetworkInterface?.NetworkInterfaceId,
      ]);
      expect(second.NextToken).toBeUndefined();
    });

    // p4d.24xlarge: 4 network cards of 15 ENIs each (60 in all); each card has its own device indices.
    it('models network cards: limits per card, a device 0 on each, the card on the attachment', async () => {
      const region = createRegion();
      const info = (await region.ec2('DescribeInstanceTypes', { InstanceTypes: ['p4d.24xlarge'] })).InstanceTypes?.[0];
      expect(info?.NetworkInfo).toMatchObject({ MaximumNetworkInterfaces: 60, MaximumNetworkCards: 4 });
      expect(info?.NetworkInfo?.NetworkCards?.map((c) => [c.NetworkCardIndex, c.MaximumNetworkInterfaces])).toEqual([
        [0, 15],
        [1, 15],
        [2, 15],
        [3, 15],
      ]);
      const inst = await launch(region, 'p4d.24xlarge');
      region.tick();
      const card1 = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
      const efa = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet, InterfaceType: 'efa-only' });
      const attach = (eni: typeof card1, DeviceIndex: number, NetworkCardIndex?: number) =>
        region.ec2('AttachNetworkInterface', {
          NetworkInterfaceId: eni.NetworkInterface?.NetworkInterfaceId,
          InstanceId: inst.id,
          DeviceIndex,
          ...(NetworkCardIndex === undefined ? {} : { NetworkCardIndex }),
        });
      await rejects(attach(card1, 0, 4), 'InvalidParameterValue');
      await rejects(attach(card1, 0), 'InvalidParameterValue');
      expect((await attach(card1, 0, 1)).NetworkCardIndex).toBe(1);
      expect((await attach(efa, 1)).NetworkCardIndex).toBe(0);
      const described = (await region.ec2('DescribeInstances', { InstanceIds: [inst.id] })).Reservations?.[0]
        ?.Instances?.[0]?.NetworkInterfaces;
      expect(
        described
          ?.map((n) => [n.Attachment?.NetworkCardIndex, n.Attachment?.DeviceIndex, n.InterfaceType])
          .sort((x, y) => String(x).localeCompare(String(y))),
      ).toEqual([
        [0, 0, 'interface'],
        [0, 1, 'efa-only'],
        [1, 0, 'interface'],
      ]);
      // t3.micro has one card.
      const small = await launch(region);
      const other = await region.ec2('CreateNetworkInterface', { SubnetId: small.subnet });
      await rejects(
        region.ec2('AttachNetworkInterface', {
          NetworkInterfaceId: other.NetworkInterface?.NetworkInterfaceId,
          InstanceId: small.id,
          DeviceIndex: 1,
          NetworkCardIndex: 1,
        }),
        'InvalidParameterValue',
      );
    });

    it('refuses unknown subnets and ENIs', async () => {
      const region = createRegion();
      await rejects(
        region.ec2('CreateNetworkInterface', { SubnetId: 'subnet-0123456789abcdef0' }),
        'InvalidSubnetID.NotFound',
      );
      await rejects(
        region.ec2('DeleteNetworkInterface', { NetworkInterfaceId: 'eni-0123456789abcdef0' }),
        'InvalidNetworkInterfaceID.NotFound',
      );
    });
  });

  describe('Method: RunInstances', () => {
    it('returns the same reservation for the same ClientToken', async () => {
      const region = createRegion();
      const input = { ImageId: 'ami-1', MinCount: 1, MaxCount: 1, ClientToken: 'launch-1' };
      const a = await region.ec2('RunInstances', input);
      const b = await region.ec2('RunInstances', input);
      expect(b.ReservationId).toBe(a.ReservationId);
      expect((await region.ec2('DescribeInstances', {})).Reservations).toHaveLength(1);
    });

    it('gives the same ids for the same seed', async () => {
      const ids = async () => (await launch(createRegion({ seed: 42 }))).id;
      expect(await ids()).toBe(await ids());
    });
  });

  describe('Method: lifecycle', () => {
    it('goes pending → running on a clock tick and emits a state-change for every transition', async () => {
      const clock = manualClock();
      const region = createRegion({ clock: clock.now, transitionMs: 5_000 });
      const events: RegionEvent[] = [];
      region.onEvent((e) => events.push(e));
      const inst = await launch(region);
      expect((await describeInstance(region, inst.id)).State?.Name).toBe('pending');
      clock.advance(5_000);
      region.tick();
      expect((await describeInstance(region, inst.id)).State).toEqual({ Code: 16, Name: 'running' });
      await region.ec2('StopInstances', { InstanceIds: [inst.id] });
      clock.advance(5_000);
      region.tick();
      expect(events.map((e) => [e['detail-type'], e.detail.state])).toEqual([
        ['EC2 Instance State-change Notification', 'pending'],
        ['EC2 Instance State-change Notification', 'running'],
        ['EC2 Instance State-change Notification', 'stopping'],
        ['EC2 Instance State-change Notification', 'stopped'],
      ]);
      expect(events[0]).toMatchObject({
        source: 'aws.ec2',
        account: '123456789012',
        region: 'us-east-1',
        resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${inst.id}`],
        detail: { 'instance-id': inst.id },
      });
    });

    it('keeps ENIs and EIPs across stop/start', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const a = await allocate(region);
      await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: inst.eni,
        PrivateIpAddress: inst.ip,
      });
      await region.ec2('StopInstances', { InstanceIds: [inst.id] });
      expect((await describeInstance(region, inst.id)).State?.Name).toBe('stopped');
      await region.ec2('StartInstances', { InstanceIds: [inst.id] });
      const after = await describeInstance(region, inst.id);
      expect(after.State?.Name).toBe('running');
      expect(after.NetworkInterfaces?.[0]?.NetworkInterfaceId).toBe(inst.eni);
      expect(after.PublicIpAddress).toBe(a.ip);
    });

    it('on termination deletes DeleteOnTermination ENIs and leaves their EIPs allocated and unassociated', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const kept = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
      const keptId = kept.NetworkInterface?.NetworkInterfaceId ?? '';
      await region.ec2('AttachNetworkInterface', { InstanceId: inst.id, NetworkInterfaceId: keptId, DeviceIndex: 1 });
      const a = await allocate(region);
      const b = await allocate(region);
      await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: inst.eni,
        PrivateIpAddress: inst.ip,
      });
      await region.ec2('AssociateAddress', { AllocationId: b.id, NetworkInterfaceId: keptId });
      await region.ec2('TerminateInstances', { InstanceIds: [inst.id] });
      expect((await describeInstance(region, inst.id)).State?.Name).toBe('terminated');
      const addrs = await region.ec2('DescribeAddresses', {});
      expect(addrs.Addresses?.map((x) => [x.AllocationId, x.AssociationId, x.NetworkInterfaceId])).toEqual([
        [a.id, undefined, undefined],
        [b.id, expect.any(String), keptId],
      ]);
      const enis = await region.ec2('DescribeNetworkInterfaces', {});
      expect(enis.NetworkInterfaces?.map((e) => [e.NetworkInterfaceId, e.Status])).toEqual([[keptId, 'available']]);
    });

    it('hides a new instance for launchVisibilityDelayMs (eventual consistency just after launch)', async () => {
      const clock = manualClock();
      const region = createRegion({ clock: clock.now, launchVisibilityDelayMs: 2_000 });
      const inst = await launch(region);
      await rejects(region.ec2('DescribeInstances', { InstanceIds: [inst.id] }), 'InvalidInstanceID.NotFound');
      expect((await region.ec2('DescribeInstances', {})).Reservations).toEqual([]);
      clock.advance(2_000);
      expect((await describeInstance(region, inst.id)).InstanceId).toBe(inst.id);
    });

    it('answers NotFound for unknown instances, all or nothing', async () => {
      const region = createRegion();
      const inst = await launch(region);
      await rejects(
        region.ec2('TerminateInstances', { InstanceIds: [inst.id, 'i-0123456789abcdef0'] }),
        'InvalidInstanceID.NotFound',
      );
      expect((await describeInstance(region, inst.id)).State?.Name).toBe('running');
    });
  });

  describe('Method: tags', () => {
    it('emits Tag Change on Resource with the full tag set and changed keys, deleted ones included', async () => {
      const region = createRegion();
      const inst = await launch(region, 't3.micro', { Name: 'web-1' });
      const events: RegionEvent[] = [];
      region.onEvent((e) => events.push(e));
      await region.ec2('CreateTags', { Resources: [inst.id], Tags: [{ Key: 'eip-count', Value: '3' }] });
      await region.ec2('CreateTags', { Resources: [inst.id], Tags: [{ Key: 'eip-count', Value: '3' }] });
      await region.ec2('DeleteTags', { Resources: [inst.id], Tags: [{ Key: 'eip-count' }] });
      expect(events.map((e) => e.detail)).toEqual([
        {
          'changed-tag-keys': ['eip-count'],
          service: 'ec2',
          'resource-type': 'instance',
          version: 1,
          tags: { Name: 'web-1', 'eip-count': '3' },
        },
        {
          'changed-tag-keys': ['eip-count'],
          service: 'ec2',
          'resource-type': 'instance',
          version: 2,
          tags: { Name: 'web-1' },
        },
      ]);
      expect(events[0]).toMatchObject({ 'detail-type': 'Tag Change on Resource', source: 'aws.tag' });
    });

    it('deletes a tag given with a value only when the value matches', async () => {
      const region = createRegion();
      const inst = await launch(region, 't3.micro', { a: '1' });
      await region.ec2('DeleteTags', { Resources: [inst.id], Tags: [{ Key: 'a', Value: '2' }] });
      expect((await describeInstance(region, inst.id)).Tags).toEqual([{ Key: 'a', Value: '1' }]);
    });
  });

  describe('Method: filters and pagination', () => {
    it.each([
      ['instance-id', (i: { id: string }) => i.id],
      ['tag:eip-count', () => '3'],
      ['tag-key', () => 'eip-count'],
      ['instance-state-name', () => 'running'],
      ['network-interface.network-interface-id', (i: { eni: string }) => i.eni],
    ])('DescribeInstances filters on %s', async (name, value) => {
      const region = createRegion();
      const tagged = await launch(region, 't3.micro', { 'eip-count': '3' });
      const other = await launch(region, 't3.micro');
      await region.ec2('StopInstances', { InstanceIds: [other.id] });
      const out = await region.ec2('DescribeInstances', { Filters: [{ Name: name, Values: [value(tagged)] }] });
      expect(out.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId))).toEqual([tagged.id]);
    });

    it('filters addresses and ENIs by the names the reconciler uses', async () => {
      const region = createRegion();
      const inst = await launch(region);
      const eni = await region.ec2('CreateNetworkInterface', { SubnetId: inst.subnet });
      const a = await allocate(region);
      await allocate(region);
      await region.ec2('AssociateAddress', { AllocationId: a.id, NetworkInterfaceId: inst.eni });
      const byName = async (Name: string, Values: string[]) =>
        (await region.ec2('DescribeAddresses', { Filters: [{ Name, Values }] })).Addresses?.map((x) => x.AllocationId);
      expect(await byName('network-interface-id', [inst.eni])).toEqual([a.id]);
      expect(await byName('allocation-id', [a.id])).toEqual([a.id]);
      expect(await byName('domain', ['vpc'])).toHaveLength(2);
      expect(await byName('instance-id', [inst.id])).toEqual([a.id]);
      const attached = await region.ec2('DescribeNetworkInterfaces', {
        Filters: [{ Name: 'attachment.instance-id', Values: [inst.id] }],
      });
      expect(attached.NetworkInterfaces?.map((e) => e.NetworkInterfaceId)).toEqual([inst.eni]);
      const wildcard = await region.ec2('DescribeNetworkInterfaces', {
        Filters: [{ Name: 'network-interface-id', Values: ['eni-*'] }],
      });
      expect(wildcard.NetworkInterfaces).toHaveLength(2);
      expect(eni.NetworkInterface?.Status).toBe('available');
      await rejects(
        region.ec2('DescribeAddresses', { Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }),
        'InvalidParameterValue',
      );
    });

    it('pages 10,000 instances with MaxResults/NextToken quickly', async () => {
      const region = createRegion();
      await region.ec2('RunInstances', {
        ImageId: 'ami-1',
        MinCount: 10_000,
        MaxCount: 10_000,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'eip-count', Value: '1' }] }],
      });
      let token: string | undefined;
      let seen = 0;
      let pages = 0;
      do {
        const out = await region.ec2('DescribeInstances', {
          MaxResults: 1000,
          NextToken: token,
          Filters: [{ Name: 'tag-key', Values: ['eip-count'] }],
        });
        seen += out.Reservations?.reduce((n, r) => n + (r.Instances?.length ?? 0), 0) ?? 0;
        token = out.NextToken;
        pages++;
      } while (token);
      expect(seen).toBe(10_000);
      expect(pages).toBe(10);
    });
  });

  describe('Method: latency', () => {
    it('delays every call by the injected latency', async () => {
      const region = createRegion({ latencyMs: { min: 40, max: 60 } });
      const started = performance.now();
      await region.ec2('DescribeAddresses', {});
      expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    });
  });

  describe('Method: throttling', () => {
    it(
      'refuses the configured fraction of calls with RequestLimitExceeded (HTTP 503) and logs every ' + 'call',
      async () => {
        const region = createRegion({ throttleFraction: 0.5 });
        const results = await Promise.allSettled(
          Array.from({ length: 200 }, () => region.ec2('DescribeAddresses', {})),
        );
        const throttled = results.filter((r) => r.status === 'rejected');
        expect(throttled.length).toBeGreaterThan(60);
        expect(throttled.length).toBeLessThan(140);
        expect(throttled[0]).toMatchObject({ reason: { name: 'RequestLimitExceeded', statusCode: 503 } });
        expect(region.calls).toHaveLength(200);
        expect(region.calls.filter((c) => c.error === 'RequestLimitExceeded')).toHaveLength(throttled.length);
      },
    );
  });

  describe('Method: guestNetwork', () => {
    it('shows the instance network as IMDS would, in the VPC lab shape, and announces each change', async () => {
      const region = createRegion();
      const changes: Ec2Change[] = [];
      region.onChange((c) => changes.push(c));
      const inst = await launch(region);
      const a = await allocate(region);
      await region.ec2('AssociateAddress', {
        AllocationId: a.id,
        NetworkInterfaceId: inst.eni,
        PrivateIpAddress: inst.ip,
      });
      const view: LabInstance | undefined = region.guestNetwork(inst.id);
      expect(view).toEqual({
        instanceId: inst.id,
        enis: [
          {
            mac: expect.stringMatching(/^0e(:[0-9a-f]{2}){5}$/),
            interfaceId: inst.eni,
            deviceNumber: 0,
            networkCard: 0,
            subnetCidr: '10.0.0.0/18',
            privateIps: [inst.ip],
            publicIps: { [inst.ip]: a.ip },
          },
        ],
      });
      expect(changes).toEqual([
        {
          type: 'address-associated',
          allocationId: a.id,
          publicIp: a.ip,
          eniId: inst.eni,
          privateIp: inst.ip,
          instanceId: inst.id,
        },
      ]);
    });
  });
});
