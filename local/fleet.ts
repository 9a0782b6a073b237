import type { Address, Filter, Instance } from '@aws-sdk/client-ec2';
import type { Ec2Port } from '#src/aws/ec2-port';
import type { SsmPort } from '#src/aws/ssm-port';
import { Status } from '#src/reconcile/status';

/** A synthetic fleet for sweep tests and the bench: `size` instances, each in sync with `eip-count=1`. */
export interface Fleet {
  port: Ec2Port;
  /** SSM as the sweep sees it: agents in {@link Fleet.online} are registered and Online. */
  ssm: Pick<SsmPort, 'onlineInstances'>;
  online: Set<string>;
  calls: string[];
  instances: Instance[];
  addresses: Address[];
}

const hex = (n: number) => n.toString(16).padStart(17, '0');

/** `drifted` instances have no EIP yet; `orphans` addresses belong to instances EC2 no longer knows. */
export function makeFleet(size: number, drifted = 0, orphans = 0): Fleet {
  const instances: Instance[] = [];
  const addresses: Address[] = [];
  for (let n = 0; n < size; n++) {
    const id = `i-${hex(n)}`;
    const eni = `eni-${hex(n)}`;
    const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const inSync = n >= drifted;
    instances.push({
      InstanceId: id,
      InstanceType: 't3.medium',
      State: { Name: 'running', Code: 16 },
      Tags: [
        { Key: 'eip-count', Value: '1' },
        ...(inSync ? [{ Key: 'eip-autopilot:status', Value: Status.ok(1, 1) }] : []),
      ],
      NetworkInterfaces: [
        {
          NetworkInterfaceId: eni,
          Attachment: { DeviceIndex: 0, AttachmentId: `eni-attach-${hex(n)}` },
          PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: ip }],
        },
      ],
    });
    if (inSync) {
      addresses.push({
        AllocationId: `eipalloc-${hex(n)}`,
        PublicIp: `198.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        AssociationId: `eipassoc-${hex(n)}`,
        NetworkInterfaceId: eni,
        PrivateIpAddress: ip,
        InstanceId: id,
        Tags: [
          { Key: 'eip-autopilot:managed', Value: 'true' },
          { Key: 'eip-autopilot:instance-id', Value: id },
        ],
      });
    }
  }
  for (let n = 0; n < orphans; n++) {
    addresses.push({
      AllocationId: `eipalloc-orphan${n}`,
      PublicIp: `192.0.2.${n}`,
      Tags: [
        { Key: 'eip-autopilot:managed', Value: 'true' },
        { Key: 'eip-autopilot:instance-id', Value: `i-dead${hex(n).slice(4)}` },
      ],
    });
  }
  const calls: string[] = [];
  const unsupported = (name: string) => async () => {
    throw new Error(`${name} is not part of the sweep`);
  };
  const match = (i: Instance, filters: Filter[]) =>
    filters.every((f) =>
      f.Name === 'tag-key'
        ? (i.Tags ?? []).some((t) => f.Values?.includes(t.Key ?? ''))
        : f.Name === 'instance-id'
          ? f.Values?.includes(i.InstanceId ?? '')
          : true,
    );
  const port: Ec2Port = {
    async describeInstance(id) {
      calls.push('DescribeInstances');
      return instances.find((i) => i.InstanceId === id);
    },
    async *describeInstancePages(filters) {
      const all = instances.filter((i) => match(i, filters));
      for (let p = 0; p === 0 || p < all.length; p += 1000) {
        calls.push('DescribeInstances');
        yield all.slice(p, p + 1000);
      }
    },
    async describeAddresses() {
      calls.push('DescribeAddresses');
      return addresses;
    },
    describeInstanceType: unsupported('describeInstanceType'),
    describeEipQuota: unsupported('describeEipQuota'),
    describeNetworkInterfaces: unsupported('describeNetworkInterfaces'),
    allocateAddress: unsupported('allocateAddress'),
    associateAddress: unsupported('associateAddress'),
    disassociateAddress: unsupported('disassociateAddress'),
    releaseAddress: unsupported('releaseAddress'),
    assignPrivateIpAddresses: unsupported('assignPrivateIpAddresses'),
    unassignPrivateIpAddresses: unsupported('unassignPrivateIpAddresses'),
    createNetworkInterface: unsupported('createNetworkInterface'),
    attachNetworkInterface: unsupported('attachNetworkInterface'),
    setDeleteOnTermination: unsupported('setDeleteOnTermination'),
    detachNetworkInterface: unsupported('detachNetworkInterface'),
    waitNetworkInterfaceAvailable: unsupported('waitNetworkInterfaceAvailable'),
    deleteNetworkInterface: unsupported('deleteNetworkInterface'),
    createTags: unsupported('createTags'),
    deleteTags: unsupported('deleteTags'),
  };
  const online = new Set<string>();
  const ssm: Fleet['ssm'] = {
    async onlineInstances(ids) {
      for (let i = 0; i < ids.length; i += 50) calls.push('DescribeInstanceInformation');
      return new Set(ids.filter((id) => online.has(id)));
    },
  };
  return { port, ssm, online, calls, instances, addresses };
}
