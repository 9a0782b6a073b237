import type { NetworkInterface } from '@aws-sdk/client-ec2';
import { regionError } from '../errors';
import { INSTANCE_TYPES, type TypeSpec } from '../instance-types';
import { intToIpv4, ipv4ToInt } from '#src/ipv4';
import type { RegionContext } from '../context';
import {
  type AddressRec,
  type Ec2Change,
  type Ec2Options,
  ENI_ID,
  type EniRec,
  INSTANCE_ID,
  type InstanceRec,
  plural,
  type SubnetRec,
} from './records';

/**
 * The EC2 model's shared state: every record, index and counter, and the lookups and mutations the sections
 * share (validation before any change, so a refused call changes nothing).
 */
export class Ec2State {
  readonly subnets = new Map<string, SubnetRec>();

  readonly instances = new Map<string, InstanceRec>();

  /** Launch order; DescribeInstances pages walk it (terminated-and-expired ids are removed lazily). */
  order: string[] = [];

  readonly enis = new Map<string, EniRec>();

  readonly addresses = new Map<string, AddressRec>();

  readonly ipOwner = new Map<string, string>();

  /** instance id → ids of the ENIs attached to it; keeps describes O(instance) for the 10,000-instance sweep. */
  readonly enisByInstance = new Map<string, Set<string>>();

  readonly eipOnIp = new Map<string, string>();

  readonly publicInUse = new Set<string>();

  publicCursor = 0;

  readonly transitioning = new Set<string>();

  readonly runTokens = new Map<string, string>();

  readonly reservations = new Map<string, string[]>();

  readonly eniTokens = new Map<string, { eniId: string; fingerprint: string; first: NetworkInterface }>();

  readonly changeListeners = new Set<(change: Ec2Change) => void>();

  readonly vpcId: string;

  readonly defaultSubnetId: string;

  readonly defaultGroupId: string;

  constructor(
    readonly ctx: RegionContext,
    readonly opts: Ec2Options,
  ) {
    this.vpcId = `vpc-${ctx.rng.hex(17)}`;
    this.defaultGroupId = `sg-${ctx.rng.hex(17)}`;
    // Two /18 subnets: big enough for the 10,000-instance sweep bench, each in its own AZ like default subnets.
    this.defaultSubnetId = this.addSubnet('10.0.0.0/18', `${ctx.region}a`);
    this.addSubnet('10.0.64.0/18', `${ctx.region}b`);
  }

  addSubnet(cidr: string, az: string): string {
    const [net, bits] = cidr.split('/');
    const id = `subnet-${this.ctx.rng.hex(17)}`;
    // AWS reserves the first four addresses (network, router, DNS, future) and the last one (broadcast).
    this.subnets.set(id, {
      id,
      vpcId: this.vpcId,
      ownerId: this.opts.vpcOwnerId ?? this.ctx.account,
      az,
      cidr,
      base: ipv4ToInt(net ?? ''),
      size: 2 ** (32 - Number(bits)),
      cursor: 4,
    });
    return id;
  }

  /** Subnets of the VPC, for the lab, the demo and IAM (there is no DescribeSubnets action yet). */
  subnetList(): { SubnetId: string; CidrBlock: string; AvailabilityZone: string; VpcId: string; OwnerId: string }[] {
    return [...this.subnets.values()].map((s) => ({
      SubnetId: s.id,
      CidrBlock: s.cidr,
      AvailabilityZone: s.az,
      VpcId: s.vpcId,
      OwnerId: s.ownerId,
    }));
  }

  /** Security groups of the VPC (only its default group), for IAM (there is no DescribeSecurityGroups action). */
  securityGroupList(): { GroupId: string; VpcId: string; OwnerId: string }[] {
    return [{ GroupId: this.defaultGroupId, VpcId: this.vpcId, OwnerId: this.opts.vpcOwnerId ?? this.ctx.account }];
  }

  /** Subscribes to internal changes (associations, ENI changes) — used by the lab to update NAT and IMDS. */
  onChange(listener: (change: Ec2Change) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  changed(change: Ec2Change): void {
    for (const l of this.changeListeners) {
      try {
        l(change);
      } catch {
        // a broken listener must not break the region
      }
    }
  }

  instanceArn(id: string): string {
    return `arn:aws:ec2:${this.ctx.region}:${this.ctx.account}:instance/${id}`;
  }

  typeSpec(type: string): TypeSpec {
    const spec = INSTANCE_TYPES[type];
    if (!spec) throw regionError('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`);
    return spec;
  }

  instance(id: string | undefined): InstanceRec {
    if (!id) throw regionError('MissingParameter', 'The request must contain the parameter InstanceId');
    if (!INSTANCE_ID.test(id)) throw regionError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    const inst = this.visible(id);
    if (!inst) throw regionError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return inst;
  }

  /** The instance if it exists and is already visible (see `launchVisibilityDelayMs`). */
  visible(id: string): InstanceRec | undefined {
    const inst = this.instances.get(id);
    if (!inst || this.ctx.now() < inst.launchTime.getTime() + this.opts.launchVisibilityDelayMs) return undefined;
    return inst;
  }

  instancesFor(ids: string[] | undefined): InstanceRec[] {
    if (!ids || ids.length === 0)
      throw regionError('MissingParameter', 'The request must contain the parameter InstanceId');
    for (const id of ids)
      if (!INSTANCE_ID.test(id)) throw regionError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    const missing = ids.filter((id) => !this.visible(id));
    if (missing.length > 0)
      throw regionError('InvalidInstanceID.NotFound', plural(missing, 'The instance ID', 'The instance IDs'));
    return ids.map((id) => this.instances.get(id) as InstanceRec);
  }

  eni(id: string | undefined): EniRec {
    if (!id) throw regionError('MissingParameter', 'The request must contain the parameter NetworkInterfaceId');
    if (!ENI_ID.test(id))
      throw regionError('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
    const eni = this.enis.get(id);
    if (!eni) throw regionError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    return eni;
  }

  address(allocationId: string | undefined, publicIp?: string): AddressRec {
    if (allocationId) {
      const addr = this.addresses.get(allocationId);
      if (!addr)
        throw regionError('InvalidAllocationID.NotFound', `The allocation ID '${allocationId}' does not exist`);
      return addr;
    }
    if (publicIp) {
      for (const addr of this.addresses.values()) if (addr.publicIp === publicIp) return addr;
      throw regionError('InvalidAddress.NotFound', `Address '${publicIp}' not found.`);
    }
    throw regionError('MissingParameter', 'Either public IP or allocation id must be specified');
  }

  subnet(id: string | undefined): SubnetRec {
    const subnet = this.subnets.get(id ?? this.defaultSubnetId);
    if (!subnet) throw regionError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return subnet;
  }

  checkGroups(groups: string[] | undefined): string[] {
    const list = groups && groups.length > 0 ? groups : [this.defaultGroupId];
    for (const g of list) {
      if (g !== this.defaultGroupId)
        throw regionError('InvalidGroup.NotFound', `The security group '${g}' does not exist`);
    }
    return [...list];
  }

  setAttachment(eni: EniRec, attachment: EniRec['attachment']): void {
    if (eni.attachment) this.enisByInstance.get(eni.attachment.instanceId)?.delete(eni.id);
    eni.attachment = attachment;
    if (attachment) {
      let set = this.enisByInstance.get(attachment.instanceId);
      if (!set) {
        set = new Set();
        this.enisByInstance.set(attachment.instanceId, set);
      }
      set.add(eni.id);
    }
  }

  enisOf(instanceId: string): EniRec[] {
    const list: EniRec[] = [];
    for (const id of this.enisByInstance.get(instanceId) ?? []) {
      const eni = this.enis.get(id);
      if (eni) list.push(eni);
    }
    return list.sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
  }

  /** Picks `count` free addresses of the subnet, in order, without taking them yet (callers commit all at once). */
  freeIps(subnet: SubnetRec, count: number, exclude: Set<string> = new Set()): string[] {
    const picked: string[] = [];
    const usable = subnet.size - 5;
    for (let tried = 0; picked.length < count && tried < usable; tried++) {
      const offset = 4 + ((subnet.cursor - 4 + tried) % usable);
      const ip = intToIpv4(subnet.base + offset);
      if (!this.ipOwner.has(ip) && !exclude.has(ip)) picked.push(ip);
    }
    if (picked.length < count) {
      throw regionError(
        'InsufficientFreeAddressesInSubnet',
        `The specified subnet ${subnet.id} does not have enough free addresses to satisfy the request.`,
      );
    }
    const last = picked[picked.length - 1];
    if (last) subnet.cursor = 4 + ((ipv4ToInt(last) - subnet.base - 4 + 1) % usable);
    return picked;
  }

  checkIpInSubnet(subnet: SubnetRec, ip: string): void {
    const n = ipv4ToInt(ip);
    if (Number.isNaN(n)) throw regionError('InvalidParameterValue', `Invalid private IP address '${ip}'`);
    const offset = n - subnet.base;
    if (offset < 4 || offset >= subnet.size - 1) {
      throw regionError('InvalidParameterValue', `Address ${ip} does not fall within the subnet's address range`);
    }
  }

  newEni(subnet: SubnetRec, ips: string[], groups: string[], description: string, tags: Map<string, string>): EniRec {
    const mac = ['0e', ...Array.from({ length: 5 }, () => this.ctx.rng.hex(2))].join(':');
    const eni: EniRec = {
      id: `eni-${this.ctx.rng.hex(17)}`,
      subnetId: subnet.id,
      description,
      mac,
      ips,
      groups,
      tags,
      sourceDestCheck: true,
    };
    for (const ip of ips) this.ipOwner.set(ip, eni.id);
    this.enis.set(eni.id, eni);
    return eni;
  }

  privateDns(ip: string): string {
    const suffix = this.ctx.region === 'us-east-1' ? 'ec2.internal' : `${this.ctx.region}.compute.internal`;
    return `ip-${ip.replaceAll('.', '-')}.${suffix}`;
  }

  publicDns(ip: string): string {
    const suffix =
      this.ctx.region === 'us-east-1' ? 'compute-1.amazonaws.com' : `${this.ctx.region}.compute.amazonaws.com`;
    return `ec2-${ip.replaceAll('.', '-')}.${suffix}`;
  }

  eipAt(eniId: string, ip: string): AddressRec | undefined {
    const allocId = this.eipOnIp.get(`${eniId}|${ip}`);
    return allocId ? this.addresses.get(allocId) : undefined;
  }

  disassociate(addr: AddressRec): void {
    const assoc = addr.association;
    if (!assoc) return;
    this.eipOnIp.delete(`${assoc.eniId}|${assoc.privateIp}`);
    addr.association = undefined;
    this.changed({
      type: 'address-disassociated',
      allocationId: addr.allocationId,
      publicIp: addr.publicIp,
      eniId: assoc.eniId,
      privateIp: assoc.privateIp,
      instanceId: this.enis.get(assoc.eniId)?.attachment?.instanceId,
    });
  }
}
