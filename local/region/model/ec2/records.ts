/** The EC2 model's records, options and request validation (shared by every section). */
import type { InstanceStateName, TagSpecification } from '@aws-sdk/client-ec2';
import { regionError } from '../errors';

/** Options of the EC2 half of the region. */
export interface Ec2Options {
  /** `vpc-max-elastic-ips` (default 5, the AWS default quota L-0263D0A3). */
  eipQuota: number;
  /** Time each state transition takes (pending → running, stopping → stopped, shutting-down → terminated). */
  transitionMs: number;
  /** How long terminated instances stay visible in DescribeInstances (AWS: about an hour). */
  terminatedVisibleMs: number;
  /**
   * Eventual consistency after launch: for this long a new instance is unknown to every call but RunInstances'
   * own answer (`InvalidInstanceID.NotFound`, docs/aws-facts.md). Default 0.
   */
  launchVisibilityDelayMs: number;
  /** /24 prefixes (`a.b.c`) public IPs are drawn from, in order (default: the three documentation ranges). */
  publicIpRanges?: string[];
  /**
   * Account that owns the VPC, its subnets and its security group (default: the region's own account). Another
   * account makes it a VPC shared through RAM: instances and ENIs stay ours, the subnets and groups are the owner's.
   */
  vpcOwnerId?: string;
}

export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** Public addresses come from the documentation ranges (RFC 5737): never routable, safe for the lab's NAT. */
export const PUBLIC_RANGES = ['192.0.2', '198.51.100', '203.0.113'];

export interface SubnetRec {
  id: string;
  vpcId: string;
  /** Owner account (the VPC owner's in a shared VPC). */
  ownerId: string;
  az: string;
  cidr: string;
  base: number;
  size: number;
  cursor: number;
}

export interface InstanceRec {
  id: string;
  reservationId: string;
  type: string;
  imageId: string;
  subnetId: string;
  groups: string[];
  state: InstanceStateName;
  launchTime: Date;
  launchIndex: number;
  tags: Map<string, string>;
  tagVersion: number;
  clientToken?: string;
  keyName?: string;
  transitionReason: string;
  /** Next scheduled transition, applied by `settle()` once the clock reaches `at`. */
  next?: { state: InstanceStateName; at: number };
  runningSince?: number;
  /** Longest finished stretch in `running` (for "has the SSM agent ever registered"). */
  longestRunMs: number;
  terminatedAt?: number;
  position: number;
}

export interface EniRec {
  id: string;
  subnetId: string;
  description: string;
  mac: string;
  /** Primary first. */
  ips: string[];
  groups: string[];
  tags: Map<string, string>;
  sourceDestCheck: boolean;
  /** `InterfaceType` given at creation (`efa`, `efa-only`, `trunk`, …); absent: `interface`. */
  interfaceType?: string;
  attachment?: {
    id: string;
    instanceId: string;
    deviceIndex: number;
    /** The network card (0 unless attached with another NetworkCardIndex). */
    networkCardIndex?: number;
    deleteOnTermination: boolean;
    time: Date;
  };
}

export interface AddressRec {
  allocationId: string;
  publicIp: string;
  tags: Map<string, string>;
  association?: { id: string; eniId: string; privateIp: string };
}

/** Change notifications for the lab (1:1 NAT, IMDS): not AWS events, the region's own hooks. */
export type Ec2Change =
  | {
      type: 'address-associated' | 'address-disassociated';
      allocationId: string;
      publicIp: string;
      eniId: string;
      privateIp: string;
      instanceId?: string;
    }
  | { type: 'network-changed'; instanceId: string };

/** One ENI as IMDS describes it. */
export interface GuestEni {
  mac: string;
  interfaceId: string;
  deviceNumber: number;
  networkCard: number;
  subnetCidr: string;
  /** Primary first. */
  privateIps: string[];
  /** Private IP → EIP (what IMDS ipv4-associations shows). */
  publicIps: Record<string, string>;
  /**
   * What IMDS reports as device-number when it differs from the real one: a freshly attached ENI reads 0 until
   * propagation completes (amazon-ec2-net-utils #90). The guest NIC still follows `deviceNumber`.
   */
  imdsDeviceNumber?: number;
}

/**
 * An instance's network as IMDS shows it. The region owns this shape; a guest host (the VPC lab) builds a guest from
 * it. The ENI with network card 0 / device number 0 is the primary one (eth0).
 */
export interface GuestNetwork {
  instanceId: string;
  enis: GuestEni[];
}

export const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const ENI_ID = /^eni-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function plural(ids: string[], one: string, many: string): string {
  return ids.length === 1 ? `${one} '${ids[0]}' does not exist` : `${many} '${ids.join(', ')}' do not exist`;
}

export function validateTags(tags: { Key?: string; Value?: string }[]): [string, string][] {
  const out: [string, string][] = [];
  for (const t of tags) {
    const key = t.Key;
    if (key === undefined || key === '') throw regionError('InvalidParameterValue', 'Tag key must not be empty');
    if (key.length > 128)
      throw regionError('InvalidParameterValue', `Tag key exceeds the maximum length of 128 characters: ${key}`);
    if (key.toLowerCase().startsWith('aws:')) {
      throw regionError('InvalidParameterValue', "Tag keys starting with 'aws:' are reserved for internal use");
    }
    const value = t.Value ?? '';
    if (value.length > 256)
      throw regionError(
        'InvalidParameterValue',
        `Tag value exceeds the maximum length of 256 characters for key ${key}`,
      );
    out.push([key, value]);
  }
  return out;
}

export function tagSpecs(specs: TagSpecification[] | undefined, allowed: string[]): Map<string, Map<string, string>> {
  const byType = new Map<string, Map<string, string>>();
  for (const spec of specs ?? []) {
    const type = spec.ResourceType;
    if (!type || !allowed.includes(type)) {
      throw regionError(
        'InvalidParameterValue',
        `'${type ?? ''}' is not a valid taggable resource type for this operation.`,
      );
    }
    const tags = byType.get(type) ?? new Map<string, string>();
    for (const [k, v] of validateTags(spec.Tags ?? [])) tags.set(k, v);
    if (tags.size > 50)
      throw regionError('TagLimitExceeded', 'The maximum number of tags per resource (50) has been exceeded');
    byType.set(type, tags);
  }
  return byType;
}
