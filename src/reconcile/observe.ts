import type { Address, Instance } from '@aws-sdk/client-ec2';
import type { Ec2Port } from '../aws/ec2-port';
import { ENI_DESCRIPTION_PREFIX, TAG, tagRecord } from '../tags';
import { ipv4ToInt } from '../ipv4';
import type { GuestCommandState } from './status';

export type { GuestCommandState } from './status';

/** One ENI of the instance, private IPs in EC2 order (primary first, then secondaries by address). */
export interface EniView {
  eniId: string;
  /** Device index within its network card (each card has its own device 0). */
  deviceIndex: number;
  /** The network card it is attached on (0 on types with one card; every ENI we add goes on card 0). */
  networkCardIndex: number;
  attachmentId: string | undefined;
  /** Created by eip-autopilot (recognised by its Description). */
  managed: boolean;
  subnetId: string | undefined;
  /** Empty for EFA-only and trunk interfaces: they carry no IPv4 an EIP could go on. */
  privateIps: string[];
  /** Private IPs carrying a public IP that is not in DescribeAddresses' answer (never ours). */
  ipsWithForeignPublicIp: string[];
}

/** An Elastic IP as the planner needs it. */
export interface AddressView {
  allocationId: string;
  publicIp: string;
  associationId: string | undefined;
  eniId: string | undefined;
  privateIp: string | undefined;
  /** Allocated by eip-autopilot (`eip-autopilot:managed=true`). */
  managed: boolean;
  /** `eip-autopilot:instance-id`: the instance it was allocated for or taken from the pool for. */
  instanceTag: string | undefined;
  /** `eip-autopilot:pool`: a pre-allocated pool address (never released by us). */
  pool: string | undefined;
  /** `eip-autopilot:assigned-ip`, when present. */
  assignedIpTag: AssignedIpTag | undefined;
}

/** The `eip-autopilot:assigned-ip` tag of an address: our proof that we assigned the private IP it sits (or sat) on. */
export interface AssignedIpTag {
  /** The raw value: the private IP itself (`true` from versions that did not record it). */
  value: string;
  /** False only for the value `false`, which proves nothing. */
  proves: boolean;
  /** The private IP the value names, when it names one: still provably ours after the address was disassociated. */
  ip: string | undefined;
}

/** Reads the assigned-ip tag's value (pure). */
export function toAssignedIpTag(value: string | undefined): AssignedIpTag | undefined {
  if (value === undefined) return undefined;
  return { value, proves: value !== 'false', ip: /^\d{1,3}(\.\d{1,3}){3}$/.test(value) ? value : undefined };
}

/** An ENI we created for this instance that is attached to nothing. */
export interface LeftoverEni {
  eniId: string;
  /** Primary first. */
  privateIps: string[];
}

/** The world as EC2 shows it for one instance (ACK calls this "latest"). */
export interface ActualState {
  instanceId: string;
  exists: boolean;
  /**
   * `false`: the instance carries neither the count tag nor our status tag and its addresses were not read (see
   * {@link observe}'s `skipUntagged`); absent otherwise.
   */
  managed?: false;
  state: string | undefined;
  instanceType: string | undefined;
  subnetId: string | undefined;
  securityGroupIds: string[];
  tags: Record<string, string>;
  enis: EniView[];
  /** Every Elastic IP of the Region: ours, pool ones, foreign ones (also gives the quota usage). */
  addresses: AddressView[];
  /**
   * ENIs we created for this instance that are not attached (`available`): left by a run that died between
   * CreateNetworkInterface and AttachNetworkInterface, or between DetachNetworkInterface and DeleteNetworkInterface.
   * `undefined` when not read (see {@link observeLeftoverEnis}).
   */
  leftoverEnis?: LeftoverEni[] | undefined;
  /**
   * Where the latest guest command for this instance stands, read only while the status says `syncing` and the
   * cloud has nothing to change (see {@link GuestCommandState}); `undefined` when not read.
   */
  guestCommand?: GuestCommandState | undefined;
}

/** Normalises one SDK Address. */
export function toAddressView(a: Address): AddressView {
  const tags = tagRecord(a.Tags);
  return {
    allocationId: a.AllocationId ?? '',
    publicIp: a.PublicIp ?? '',
    associationId: a.AssociationId,
    eniId: a.NetworkInterfaceId,
    privateIp: a.PrivateIpAddress,
    managed: tags[TAG.managed] === 'true',
    instanceTag: tags[TAG.instanceId],
    pool: tags[TAG.pool],
    assignedIpTag: toAssignedIpTag(tags[TAG.assignedIp]),
  };
}

/** Interface types that carry no IPv4 for an EIP (`InterfaceType` of DescribeInstances). */
const NO_ADDRESSES: ReadonlySet<string> = new Set(['efa-only', 'trunk']);

/** Builds the ActualState from the two describe answers (pure). */
export function toActual(instanceId: string, instance: Instance | undefined, addresses: Address[]): ActualState {
  const views = addresses.filter((a) => a.AllocationId).map(toAddressView);
  const eipIps = new Set(views.map((a) => a.publicIp));
  const enis: EniView[] = (instance?.NetworkInterfaces ?? [])
    .filter((n) => n.NetworkInterfaceId && n.Attachment?.DeviceIndex !== undefined)
    .map((n) => {
      const ips = n.PrivateIpAddresses ?? [];
      const primary = ips.filter((p) => p.Primary).map((p) => p.PrivateIpAddress ?? '');
      const secondaries = ips
        .filter((p) => !p.Primary && p.PrivateIpAddress)
        .map((p) => p.PrivateIpAddress ?? '')
        .sort((a, b) => ipv4ToInt(a) - ipv4ToInt(b));
      // An EFA-only interface has no IP; a trunk interface (ECS awsvpc trunking) carries its branches' traffic: no
      // address of ours goes on either, but each holds its device index.
      const usable = !NO_ADDRESSES.has(n.InterfaceType ?? 'interface');
      return {
        eniId: n.NetworkInterfaceId ?? '',
        deviceIndex: n.Attachment?.DeviceIndex ?? 0,
        networkCardIndex: n.Attachment?.NetworkCardIndex ?? 0,
        attachmentId: n.Attachment?.AttachmentId,
        managed: (n.Description ?? '').startsWith(ENI_DESCRIPTION_PREFIX),
        subnetId: n.SubnetId,
        privateIps: usable ? [...primary, ...secondaries].filter((ip) => ip !== '') : [],
        // Auto-assigned public IPs belong to Amazon ("amazon" owner) and give way to an EIP: not foreign.
        ipsWithForeignPublicIp: ips
          .filter(
            (p) =>
              p.Association?.PublicIp && p.Association.IpOwnerId !== 'amazon' && !eipIps.has(p.Association.PublicIp),
          )
          .map((p) => p.PrivateIpAddress ?? ''),
      };
    })
    .sort((a, b) => a.networkCardIndex - b.networkCardIndex || a.deviceIndex - b.deviceIndex);
  // The primary ENI is device 0 of network card 0: on a type with several cards, each card has a device 0.
  const isPrimary = (n: { Attachment?: { DeviceIndex?: number; NetworkCardIndex?: number } }) =>
    n.Attachment?.DeviceIndex === 0 && (n.Attachment.NetworkCardIndex ?? 0) === 0;
  const primaryEni = enis.find((e) => e.deviceIndex === 0 && e.networkCardIndex === 0);
  return {
    instanceId,
    exists: instance !== undefined,
    state: instance?.State?.Name,
    instanceType: instance?.InstanceType,
    subnetId: primaryEni?.subnetId ?? instance?.SubnetId,
    securityGroupIds: (instance?.NetworkInterfaces?.find(isPrimary)?.Groups ?? [])
      .map((g) => g.GroupId ?? '')
      .filter((g) => g !== ''),
    tags: tagRecord(instance?.Tags),
    enis,
    addresses: views,
  };
}

/**
 * ENIs born with our tags for this instance and not attached to anything. One filtered DescribeNetworkInterfaces;
 * DescribeInstances cannot show them (they are on no instance).
 */
export async function observeLeftoverEnis(instanceId: string, ec2: Ec2Port): Promise<LeftoverEni[]> {
  const enis = await ec2.describeNetworkInterfaces([
    { Name: `tag:${TAG.managed}`, Values: ['true'] },
    { Name: `tag:${TAG.instanceId}`, Values: [instanceId] },
    { Name: 'status', Values: ['available'] },
  ]);
  return enis
    .flatMap((n) => {
      if (!n.NetworkInterfaceId || n.Attachment) return [];
      const ips = n.PrivateIpAddresses ?? [];
      const privateIps = [...ips.filter((p) => p.Primary), ...ips.filter((p) => !p.Primary)].flatMap((p) =>
        p.PrivateIpAddress ? [p.PrivateIpAddress] : [],
      );
      return [{ eniId: n.NetworkInterfaceId, privateIps }];
    })
    .sort((a, b) => a.eniId.localeCompare(b.eniId));
}

/**
 * Every Elastic IP of the Region in one call. DescribeAddresses has no pagination; the `domain=vpc` filter matches
 * every address (EC2-Classic is retired) and makes the call a filtered one, which EC2 serves from the larger
 * non-mutating bucket (100 tokens, 20/s) instead of the unfiltered one (50, 10/s). A tag filter would not do: the
 * planner needs the Region's usage (quota), the free pool addresses and foreign EIPs on our ENIs from this one read.
 */
export const ALL_ADDRESSES = [{ Name: 'domain', Values: ['vpc'] }];

/**
 * The only reads of a steady-state reconcile: DescribeInstances (filter form), then one DescribeAddresses of the whole
 * Region ({@link ALL_ADDRESSES}). With `skipUntagged`, an instance carrying neither the count tag nor our status tag
 * is not ours: DescribeInstances is then the only read, and `actual.managed` is false.
 */
export async function observe(
  instanceId: string,
  ec2: Ec2Port,
  options: { skipUntagged?: boolean; countTagKey?: string } = {},
): Promise<ActualState> {
  const instance = await ec2.describeInstance(instanceId);
  if (options.skipUntagged && instance !== undefined) {
    const tags = tagRecord(instance.Tags);
    const ours = (options.countTagKey !== undefined && tags[options.countTagKey] !== undefined) || TAG.status in tags;
    if (!ours) return { ...toActual(instanceId, instance, []), managed: false };
  }
  return toActual(instanceId, instance, await ec2.describeAddresses(ALL_ADDRESSES));
}
