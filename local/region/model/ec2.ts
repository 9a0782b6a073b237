import { intToIpv4, ipv4ToInt } from '#src/ipv4';
import type {
  AccountAttribute,
  Address,
  AllocateAddressRequest,
  AllocateAddressResult,
  AssignPrivateIpAddressesRequest,
  AssignPrivateIpAddressesResult,
  AssociateAddressRequest,
  AssociateAddressResult,
  AttachNetworkInterfaceRequest,
  AttachNetworkInterfaceResult,
  CreateNetworkInterfaceRequest,
  CreateNetworkInterfaceResult,
  CreateTagsRequest,
  DeleteNetworkInterfaceRequest,
  DeleteTagsRequest,
  DescribeAccountAttributesRequest,
  DescribeAccountAttributesResult,
  DescribeAddressesRequest,
  DescribeAddressesResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeInstanceTypesRequest,
  DescribeInstanceTypesResult,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  DetachNetworkInterfaceRequest,
  DisassociateAddressRequest,
  Instance,
  InstanceNetworkInterface,
  InstanceStateChange,
  InstanceStateName,
  InstanceTypeInfo,
  ModifyNetworkInterfaceAttributeRequest,
  NetworkInterface,
  ReleaseAddressRequest,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TagSpecification,
  TerminateInstancesRequest,
  TerminateInstancesResult,
  UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import type { Context } from './context';
import { err } from './errors';
import { checkMaxResults, compileFilters, decodeToken, encodeToken, type FieldReader, tagList } from './filters';
import { INSTANCE_TYPES, type TypeSpec } from './instance-types';

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
   * own answer (`InvalidInstanceID.NotFound`, FACTS.md). Default 0.
   */
  launchVisibilityDelayMs: number;
  /** /24 prefixes (`a.b.c`) public IPs are drawn from, in order (default: the three documentation ranges). */
  publicIpRanges?: string[];
}

const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** Public addresses come from the documentation ranges (RFC 5737): never routable, safe for the lab's NAT. */
const PUBLIC_RANGES = ['192.0.2', '198.51.100', '203.0.113'];

interface SubnetRec {
  id: string;
  vpcId: string;
  az: string;
  cidr: string;
  base: number;
  size: number;
  cursor: number;
}

interface InstanceRec {
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

interface EniRec {
  id: string;
  subnetId: string;
  description: string;
  mac: string;
  /** Primary first. */
  ips: string[];
  groups: string[];
  tags: Map<string, string>;
  sourceDestCheck: boolean;
  attachment?: { id: string; instanceId: string; deviceIndex: number; deleteOnTermination: boolean; time: Date };
}

interface AddressRec {
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

const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
const ENI_ID = /^eni-([0-9a-f]{8}|[0-9a-f]{17})$/;

function plural(ids: string[], one: string, many: string): string {
  return ids.length === 1 ? `${one} '${ids[0]}' does not exist` : `${many} '${ids.join(', ')}' do not exist`;
}

function validateTags(tags: { Key?: string; Value?: string }[]): [string, string][] {
  const out: [string, string][] = [];
  for (const t of tags) {
    const key = t.Key;
    if (key === undefined || key === '') throw err('InvalidParameterValue', 'Tag key must not be empty');
    if (key.length > 128)
      throw err('InvalidParameterValue', `Tag key exceeds the maximum length of 128 characters: ${key}`);
    if (key.toLowerCase().startsWith('aws:')) {
      throw err('InvalidParameterValue', "Tag keys starting with 'aws:' are reserved for internal use");
    }
    const value = t.Value ?? '';
    if (value.length > 256)
      throw err('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters for key ${key}`);
    out.push([key, value]);
  }
  return out;
}

function tagSpecs(specs: TagSpecification[] | undefined, allowed: string[]): Map<string, Map<string, string>> {
  const byType = new Map<string, Map<string, string>>();
  for (const spec of specs ?? []) {
    const type = spec.ResourceType;
    if (!type || !allowed.includes(type)) {
      throw err('InvalidParameterValue', `'${type ?? ''}' is not a valid taggable resource type for this operation.`);
    }
    const tags = byType.get(type) ?? new Map<string, string>();
    for (const [k, v] of validateTags(spec.Tags ?? [])) tags.set(k, v);
    if (tags.size > 50) throw err('TagLimitExceeded', 'The maximum number of tags per resource (50) has been exceeded');
    byType.set(type, tags);
  }
  return byType;
}

/**
 * The EC2 half of the region: instances, ENIs, private IPs and Elastic IPs with the semantics of FACTS.md. Every
 * public method is an EC2 action taking and returning the SDK's shapes; validation happens before any mutation, so
 * a refused call changes nothing (AWS calls are all-or-nothing).
 */
export class Ec2Model {
  private readonly subnets = new Map<string, SubnetRec>();
  private readonly instances = new Map<string, InstanceRec>();
  /** Launch order; DescribeInstances pages walk it (terminated-and-expired ids are removed lazily). */
  private order: string[] = [];
  private readonly enis = new Map<string, EniRec>();
  private readonly addresses = new Map<string, AddressRec>();
  private readonly ipOwner = new Map<string, string>();
  /** instance id → ids of the ENIs attached to it; keeps describes O(instance) for the 10,000-instance sweep. */
  private readonly enisByInstance = new Map<string, Set<string>>();
  private readonly eipOnIp = new Map<string, string>();
  private readonly publicInUse = new Set<string>();
  private publicCursor = 0;
  private readonly transitioning = new Set<string>();
  private readonly runTokens = new Map<string, string>();
  private readonly reservations = new Map<string, string[]>();
  private readonly eniTokens = new Map<string, { eniId: string; fingerprint: string; first: NetworkInterface }>();
  private readonly changeListeners = new Set<(change: Ec2Change) => void>();
  readonly vpcId: string;
  readonly defaultSubnetId: string;
  readonly defaultGroupId: string;

  constructor(
    private readonly ctx: Context,
    private readonly opts: Ec2Options,
  ) {
    this.vpcId = `vpc-${ctx.rng.hex(17)}`;
    this.defaultGroupId = `sg-${ctx.rng.hex(17)}`;
    // Two /18 subnets: big enough for the 10,000-instance sweep bench, each in its own AZ like default subnets.
    this.defaultSubnetId = this.addSubnet('10.0.0.0/18', `${ctx.region}a`);
    this.addSubnet('10.0.64.0/18', `${ctx.region}b`);
  }

  private addSubnet(cidr: string, az: string): string {
    const [net, bits] = cidr.split('/');
    const id = `subnet-${this.ctx.rng.hex(17)}`;
    // AWS reserves the first four addresses (network, router, DNS, future) and the last one (broadcast).
    this.subnets.set(id, {
      id,
      vpcId: this.vpcId,
      az,
      cidr,
      base: ipv4ToInt(net ?? ''),
      size: 2 ** (32 - Number(bits)),
      cursor: 4,
    });
    return id;
  }

  /** Subnets of the VPC, for the lab and the demo (there is no DescribeSubnets action yet). */
  subnetList(): { SubnetId: string; CidrBlock: string; AvailabilityZone: string; VpcId: string }[] {
    return [...this.subnets.values()].map((s) => ({
      SubnetId: s.id,
      CidrBlock: s.cidr,
      AvailabilityZone: s.az,
      VpcId: s.vpcId,
    }));
  }

  /** Subscribes to internal changes (associations, ENI changes) — used by the lab to update NAT and IMDS. */
  onChange(listener: (change: Ec2Change) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(change: Ec2Change): void {
    for (const l of this.changeListeners) {
      try {
        l(change);
      } catch {
        // a broken listener must not break the region
      }
    }
  }

  // ---------- time ----------

  /** Clock time of the next scheduled state transition, undefined when none is pending (lets a driver skip ahead). */
  nextTransitionAt(): number | undefined {
    let next: number | undefined;
    for (const id of this.transitioning) {
      const at = this.instances.get(id)?.next?.at;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /** Applies every transition that is due at the current clock. */
  settle(): void {
    let progressed = true;
    while (progressed) {
      progressed = false;
      const now = this.ctx.now();
      for (const id of [...this.transitioning]) {
        const inst = this.instances.get(id);
        if (!inst?.next) {
          this.transitioning.delete(id);
          continue;
        }
        if (inst.next.at > now) continue;
        const target = inst.next.state;
        inst.next = undefined;
        this.transitioning.delete(id);
        this.enter(inst, target);
        progressed = true;
      }
    }
    this.expireTerminated();
  }

  private expireTerminated(): void {
    const now = this.ctx.now();
    let removed = false;
    for (const inst of this.instances.values()) {
      if (
        inst.state === 'terminated' &&
        inst.terminatedAt !== undefined &&
        now - inst.terminatedAt >= this.opts.terminatedVisibleMs
      ) {
        this.instances.delete(inst.id);
        removed = true;
      }
    }
    if (removed) this.order = this.order.filter((id) => this.instances.has(id));
  }

  private schedule(inst: InstanceRec, state: InstanceStateName): void {
    inst.next = { state, at: this.ctx.now() + this.opts.transitionMs };
    this.transitioning.add(inst.id);
  }

  private enter(inst: InstanceRec, state: InstanceStateName): void {
    inst.state = state;
    const now = this.ctx.now();
    if (state === 'pending') this.schedule(inst, 'running');
    if (state === 'running') inst.runningSince = now;
    if ((state === 'stopping' || state === 'shutting-down') && inst.runningSince !== undefined) {
      inst.longestRunMs = Math.max(inst.longestRunMs, now - inst.runningSince);
      inst.runningSince = undefined;
    }
    if (state === 'stopping') this.schedule(inst, 'stopped');
    if (state === 'shutting-down') this.schedule(inst, 'terminated');
    if (state === 'stopped') inst.transitionReason = `User initiated (${new Date(now).toISOString()})`;
    if (state === 'terminated') {
      inst.terminatedAt = now;
      this.releaseInstanceEnis(inst);
    }
    this.ctx.emit('EC2 Instance State-change Notification', 'aws.ec2', [this.instanceArn(inst.id)], {
      'instance-id': inst.id,
      state,
    });
  }

  private releaseInstanceEnis(inst: InstanceRec): void {
    for (const eni of this.enisOf(inst.id)) {
      if (eni.attachment?.deleteOnTermination) this.destroyEni(eni);
      else this.setAttachment(eni, undefined);
    }
    this.changed({ type: 'network-changed', instanceId: inst.id });
  }

  private destroyEni(eni: EniRec): void {
    // AWS never releases an EIP for you: the address stays allocated, only its association goes away.
    for (const ip of eni.ips) {
      const allocId = this.eipOnIp.get(`${eni.id}|${ip}`);
      const addr = allocId ? this.addresses.get(allocId) : undefined;
      if (addr) this.disassociate(addr);
      this.ipOwner.delete(ip);
    }
    this.setAttachment(eni, undefined);
    this.enis.delete(eni.id);
  }

  /** True when the instance is running and its SSM agent would have had time to register. */
  runningSince(instanceId: string): number | undefined {
    return this.instances.get(instanceId)?.runningSince;
  }

  /**
   * The instance's network as its metadata service shows it: what the VPC lab applies to the guest (NICs, IMDS,
   * 1:1 NAT). Undefined for an unknown instance.
   */
  guestNetwork(instanceId: string): GuestNetwork | undefined {
    if (!this.instances.has(instanceId)) return undefined;
    return {
      instanceId,
      enis: this.enisOf(instanceId).map((eni) => ({
        mac: eni.mac,
        interfaceId: eni.id,
        deviceNumber: eni.attachment?.deviceIndex ?? 0,
        networkCard: 0,
        subnetCidr: this.subnet(eni.subnetId).cidr,
        privateIps: [...eni.ips],
        publicIps: Object.fromEntries(
          eni.ips.flatMap((ip) => {
            const addr = this.eipAt(eni.id, ip);
            return addr ? [[ip, addr.publicIp]] : [];
          }),
        ),
      })),
    };
  }

  /** Longest time the instance has been running in one stretch, the current one included (0 if never). */
  longestRun(instanceId: string): number {
    const inst = this.instances.get(instanceId);
    if (!inst) return 0;
    const current = inst.runningSince === undefined ? 0 : this.ctx.now() - inst.runningSince;
    return Math.max(inst.longestRunMs, current);
  }

  /** Current state name of an instance, undefined once it is gone. */
  state(instanceId: string): InstanceStateName | undefined {
    return this.instances.get(instanceId)?.state;
  }

  /** Primary private IP of an instance (for SSM's DescribeInstanceInformation). */
  primaryIp(instanceId: string): string | undefined {
    return this.enisOf(instanceId).find((e) => e.attachment?.deviceIndex === 0)?.ips[0];
  }

  /** Every instance id known (including recently terminated), in launch order. */
  instanceIds(): string[] {
    return this.order.filter((id) => this.instances.has(id));
  }

  // ---------- helpers ----------

  private instanceArn(id: string): string {
    return `arn:aws:ec2:${this.ctx.region}:${this.ctx.account}:instance/${id}`;
  }

  private typeSpec(type: string): TypeSpec {
    const spec = INSTANCE_TYPES[type];
    if (!spec) throw err('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`);
    return spec;
  }

  private instance(id: string | undefined): InstanceRec {
    if (!id) throw err('MissingParameter', 'The request must contain the parameter InstanceId');
    if (!INSTANCE_ID.test(id)) throw err('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    const inst = this.visible(id);
    if (!inst) throw err('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return inst;
  }

  /** The instance if it exists and is already visible (see `launchVisibilityDelayMs`). */
  private visible(id: string): InstanceRec | undefined {
    const inst = this.instances.get(id);
    if (!inst || this.ctx.now() < inst.launchTime.getTime() + this.opts.launchVisibilityDelayMs) return undefined;
    return inst;
  }

  private instancesFor(ids: string[] | undefined): InstanceRec[] {
    if (!ids || ids.length === 0) throw err('MissingParameter', 'The request must contain the parameter InstanceId');
    for (const id of ids) if (!INSTANCE_ID.test(id)) throw err('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    const missing = ids.filter((id) => !this.visible(id));
    if (missing.length > 0)
      throw err('InvalidInstanceID.NotFound', plural(missing, 'The instance ID', 'The instance IDs'));
    return ids.map((id) => this.instances.get(id) as InstanceRec);
  }

  private eni(id: string | undefined): EniRec {
    if (!id) throw err('MissingParameter', 'The request must contain the parameter NetworkInterfaceId');
    if (!ENI_ID.test(id)) throw err('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
    const eni = this.enis.get(id);
    if (!eni) throw err('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    return eni;
  }

  private address(allocationId: string | undefined, publicIp?: string): AddressRec {
    if (allocationId) {
      const addr = this.addresses.get(allocationId);
      if (!addr) throw err('InvalidAllocationID.NotFound', `The allocation ID '${allocationId}' does not exist`);
      return addr;
    }
    if (publicIp) {
      for (const addr of this.addresses.values()) if (addr.publicIp === publicIp) return addr;
      throw err('InvalidAddress.NotFound', `Address '${publicIp}' not found.`);
    }
    throw err('MissingParameter', 'Either public IP or allocation id must be specified');
  }

  private subnet(id: string | undefined): SubnetRec {
    const subnet = this.subnets.get(id ?? this.defaultSubnetId);
    if (!subnet) throw err('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return subnet;
  }

  private checkGroups(groups: string[] | undefined): string[] {
    const list = groups && groups.length > 0 ? groups : [this.defaultGroupId];
    for (const g of list) {
      if (g !== this.defaultGroupId) throw err('InvalidGroup.NotFound', `The security group '${g}' does not exist`);
    }
    return [...list];
  }

  private setAttachment(eni: EniRec, attachment: EniRec['attachment']): void {
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

  private enisOf(instanceId: string): EniRec[] {
    const list: EniRec[] = [];
    for (const id of this.enisByInstance.get(instanceId) ?? []) {
      const eni = this.enis.get(id);
      if (eni) list.push(eni);
    }
    return list.sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
  }

  /** Picks `count` free addresses of the subnet, in order, without taking them yet (callers commit all at once). */
  private freeIps(subnet: SubnetRec, count: number, exclude: Set<string> = new Set()): string[] {
    const picked: string[] = [];
    const usable = subnet.size - 5;
    for (let tried = 0; picked.length < count && tried < usable; tried++) {
      const offset = 4 + ((subnet.cursor - 4 + tried) % usable);
      const ip = intToIpv4(subnet.base + offset);
      if (!this.ipOwner.has(ip) && !exclude.has(ip)) picked.push(ip);
    }
    if (picked.length < count) {
      throw err(
        'InsufficientFreeAddressesInSubnet',
        `The specified subnet ${subnet.id} does not have enough free addresses to satisfy the request.`,
      );
    }
    const last = picked[picked.length - 1];
    if (last) subnet.cursor = 4 + ((ipv4ToInt(last) - subnet.base - 4 + 1) % usable);
    return picked;
  }

  private checkIpInSubnet(subnet: SubnetRec, ip: string): void {
    const n = ipv4ToInt(ip);
    if (Number.isNaN(n)) throw err('InvalidParameterValue', `Invalid private IP address '${ip}'`);
    const offset = n - subnet.base;
    if (offset < 4 || offset >= subnet.size - 1) {
      throw err('InvalidParameterValue', `Address ${ip} does not fall within the subnet's address range`);
    }
  }

  private newEni(
    subnet: SubnetRec,
    ips: string[],
    groups: string[],
    description: string,
    tags: Map<string, string>,
  ): EniRec {
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

  private privateDns(ip: string): string {
    const suffix = this.ctx.region === 'us-east-1' ? 'ec2.internal' : `${this.ctx.region}.compute.internal`;
    return `ip-${ip.replaceAll('.', '-')}.${suffix}`;
  }

  private publicDns(ip: string): string {
    const suffix =
      this.ctx.region === 'us-east-1' ? 'compute-1.amazonaws.com' : `${this.ctx.region}.compute.amazonaws.com`;
    return `ec2-${ip.replaceAll('.', '-')}.${suffix}`;
  }

  private eipAt(eniId: string, ip: string): AddressRec | undefined {
    const allocId = this.eipOnIp.get(`${eniId}|${ip}`);
    return allocId ? this.addresses.get(allocId) : undefined;
  }

  private disassociate(addr: AddressRec): void {
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

  // ---------- output shapes ----------

  private describeEni(eni: EniRec): NetworkInterface {
    const subnet = this.subnet(eni.subnetId);
    const assocOf = (ip: string) => {
      const addr = this.eipAt(eni.id, ip);
      if (!addr?.association) return undefined;
      return {
        AllocationId: addr.allocationId,
        AssociationId: addr.association.id,
        IpOwnerId: this.ctx.account,
        PublicDnsName: this.publicDns(addr.publicIp),
        PublicIp: addr.publicIp,
      };
    };
    const primary = eni.ips[0] ?? '';
    const att = eni.attachment;
    return {
      NetworkInterfaceId: eni.id,
      Association: assocOf(primary),
      Attachment: att
        ? {
            AttachmentId: att.id,
            AttachTime: att.time,
            DeleteOnTermination: att.deleteOnTermination,
            DeviceIndex: att.deviceIndex,
            NetworkCardIndex: 0,
            InstanceId: att.instanceId,
            InstanceOwnerId: this.ctx.account,
            Status: 'attached',
          }
        : undefined,
      AvailabilityZone: subnet.az,
      Description: eni.description,
      Groups: eni.groups.map((GroupId) => ({ GroupId, GroupName: 'default' })),
      InterfaceType: 'interface',
      MacAddress: eni.mac,
      OwnerId: this.ctx.account,
      PrivateDnsName: this.privateDns(primary),
      PrivateIpAddress: primary,
      PrivateIpAddresses: eni.ips.map((ip, i) => ({
        Association: assocOf(ip),
        Primary: i === 0,
        PrivateDnsName: this.privateDns(ip),
        PrivateIpAddress: ip,
      })),
      RequesterManaged: false,
      SourceDestCheck: eni.sourceDestCheck,
      Status: att ? 'in-use' : 'available',
      SubnetId: eni.subnetId,
      TagSet: tagList(eni.tags) ?? [],
      VpcId: subnet.vpcId,
    };
  }

  private describeInstance(inst: InstanceRec): Instance {
    const subnet = this.subnet(inst.subnetId);
    const enis = this.enisOf(inst.id);
    const primaryEni = enis.find((e) => e.attachment?.deviceIndex === 0);
    const primaryIp = primaryEni?.ips[0];
    const primaryEip = primaryEni && primaryIp ? this.eipAt(primaryEni.id, primaryIp) : undefined;
    const interfaces: InstanceNetworkInterface[] = enis.map((eni) => {
      const d = this.describeEni(eni);
      const instAssoc = (a: NetworkInterface['Association']) =>
        a ? { IpOwnerId: a.IpOwnerId, PublicDnsName: a.PublicDnsName, PublicIp: a.PublicIp } : undefined;
      return {
        Association: instAssoc(d.Association),
        Attachment: {
          AttachmentId: d.Attachment?.AttachmentId,
          AttachTime: d.Attachment?.AttachTime,
          DeleteOnTermination: d.Attachment?.DeleteOnTermination,
          DeviceIndex: d.Attachment?.DeviceIndex,
          NetworkCardIndex: 0,
          Status: 'attached',
        },
        Description: d.Description,
        Groups: d.Groups,
        InterfaceType: 'interface',
        MacAddress: d.MacAddress,
        NetworkInterfaceId: d.NetworkInterfaceId,
        OwnerId: d.OwnerId,
        PrivateDnsName: d.PrivateDnsName,
        PrivateIpAddress: d.PrivateIpAddress,
        PrivateIpAddresses: (d.PrivateIpAddresses ?? []).map((p) => ({
          Association: instAssoc(p.Association),
          Primary: p.Primary,
          PrivateDnsName: p.PrivateDnsName,
          PrivateIpAddress: p.PrivateIpAddress,
        })),
        SourceDestCheck: d.SourceDestCheck,
        Status: 'in-use',
        SubnetId: d.SubnetId,
        VpcId: d.VpcId,
      };
    });
    const gone = inst.state === 'terminated';
    return {
      AmiLaunchIndex: inst.launchIndex,
      Architecture: 'x86_64',
      ClientToken: inst.clientToken ?? '',
      Hypervisor: 'xen',
      ImageId: inst.imageId,
      InstanceId: inst.id,
      InstanceType: inst.type as Instance['InstanceType'],
      KeyName: inst.keyName,
      LaunchTime: inst.launchTime,
      Monitoring: { State: 'disabled' },
      NetworkInterfaces: interfaces,
      Placement: { AvailabilityZone: subnet.az, GroupName: '', Tenancy: 'default' },
      PrivateDnsName: gone ? '' : primaryIp ? this.privateDns(primaryIp) : '',
      PrivateIpAddress: gone ? undefined : primaryIp,
      PublicDnsName: primaryEip ? this.publicDns(primaryEip.publicIp) : '',
      PublicIpAddress: primaryEip?.publicIp,
      RootDeviceName: '/dev/xvda',
      RootDeviceType: 'ebs',
      SecurityGroups: gone ? [] : inst.groups.map((GroupId) => ({ GroupId, GroupName: 'default' })),
      SourceDestCheck: true,
      State: { Code: STATE_CODES[inst.state], Name: inst.state },
      StateTransitionReason: inst.transitionReason,
      SubnetId: gone ? undefined : inst.subnetId,
      Tags: tagList(inst.tags),
      VirtualizationType: 'hvm',
      VpcId: gone ? undefined : subnet.vpcId,
    };
  }

  private describeAddress(addr: AddressRec): Address {
    const assoc = addr.association;
    const eni = assoc ? this.enis.get(assoc.eniId) : undefined;
    return {
      AllocationId: addr.allocationId,
      AssociationId: assoc?.id,
      Domain: 'vpc',
      InstanceId: eni?.attachment?.instanceId,
      NetworkBorderGroup: this.ctx.region,
      NetworkInterfaceId: assoc?.eniId,
      NetworkInterfaceOwnerId: assoc ? this.ctx.account : undefined,
      PrivateIpAddress: assoc?.privateIp,
      PublicIp: addr.publicIp,
      PublicIpv4Pool: 'amazon',
      Tags: tagList(addr.tags),
    };
  }

  // ---------- filters ----------

  private readonly instanceReaders: Record<string, FieldReader<InstanceRec>> = {
    'instance-id': (i) => i.id,
    'instance-state-name': (i) => i.state,
    'instance-state-code': (i) => String(STATE_CODES[i.state]),
    'instance-type': (i) => i.type,
    'image-id': (i) => i.imageId,
    'reservation-id': (i) => i.reservationId,
    'client-token': (i) => i.clientToken,
    'subnet-id': (i) => i.subnetId,
    'vpc-id': () => this.vpcId,
    'availability-zone': (i) => this.subnets.get(i.subnetId)?.az,
    'private-ip-address': (i) => this.primaryIp(i.id),
    'ip-address': (i) => {
      const eni = this.enisOf(i.id).find((e) => e.attachment?.deviceIndex === 0);
      return eni?.ips[0] ? this.eipAt(eni.id, eni.ips[0])?.publicIp : undefined;
    },
    'network-interface.network-interface-id': (i) => this.enisOf(i.id).map((e) => e.id),
    'network-interface.addresses.private-ip-address': (i) => this.enisOf(i.id).flatMap((e) => e.ips),
    'network-interface.addresses.association.public-ip': (i) =>
      this.enisOf(i.id).flatMap((e) => e.ips.map((ip) => this.eipAt(e.id, ip)?.publicIp)),
  };

  private readonly eniReaders: Record<string, FieldReader<EniRec>> = {
    'network-interface-id': (e) => e.id,
    'attachment.instance-id': (e) => e.attachment?.instanceId,
    'attachment.attachment-id': (e) => e.attachment?.id,
    'attachment.device-index': (e) => (e.attachment ? String(e.attachment.deviceIndex) : undefined),
    'attachment.status': (e) => (e.attachment ? 'attached' : undefined),
    'attachment.delete-on-termination': (e) => (e.attachment ? String(e.attachment.deleteOnTermination) : undefined),
    'subnet-id': (e) => e.subnetId,
    'vpc-id': () => this.vpcId,
    'availability-zone': (e) => this.subnets.get(e.subnetId)?.az,
    status: (e) => (e.attachment ? 'in-use' : 'available'),
    'private-ip-address': (e) => e.ips,
    'addresses.private-ip-address': (e) => e.ips,
    'association.allocation-id': (e) => e.ips.map((ip) => this.eipAt(e.id, ip)?.allocationId),
    'association.association-id': (e) => e.ips.map((ip) => this.eipAt(e.id, ip)?.association?.id),
    'association.public-ip': (e) => e.ips.map((ip) => this.eipAt(e.id, ip)?.publicIp),
    description: (e) => e.description,
    'mac-address': (e) => e.mac,
    'group-id': (e) => e.groups,
    'owner-id': () => this.ctx.account,
    'requester-managed': () => 'false',
    'source-dest-check': (e) => String(e.sourceDestCheck),
    'interface-type': () => 'interface',
  };

  private readonly addressReaders: Record<string, FieldReader<AddressRec>> = {
    'allocation-id': (a) => a.allocationId,
    'association-id': (a) => a.association?.id,
    domain: () => 'vpc',
    'instance-id': (a) => (a.association ? this.enis.get(a.association.eniId)?.attachment?.instanceId : undefined),
    'network-interface-id': (a) => a.association?.eniId,
    'network-interface-owner-id': (a) => (a.association ? this.ctx.account : undefined),
    'private-ip-address': (a) => a.association?.privateIp,
    'public-ip': (a) => a.publicIp,
    'public-ipv4-pool': () => 'amazon',
    'network-border-group': () => this.ctx.region,
  };

  // ---------- instances ----------

  RunInstances(input: RunInstancesRequest): Reservation {
    if (input.ClientToken) {
      const reservationId = this.runTokens.get(input.ClientToken);
      if (reservationId) return this.reservation(reservationId);
    }
    if (!input.ImageId) throw err('MissingParameter', 'The request must contain the parameter ImageId');
    if (input.MinCount === undefined || input.MaxCount === undefined) {
      throw err('MissingParameter', 'The request must contain the parameters MinCount and MaxCount');
    }
    if (input.MinCount < 1 || input.MaxCount < input.MinCount) {
      throw err('InvalidParameterValue', 'MinCount must be at least 1 and not greater than MaxCount');
    }
    const type = input.InstanceType ?? 't3.micro';
    const spec = this.typeSpec(type);
    const tags = tagSpecs(input.TagSpecifications, ['instance', 'network-interface', 'volume']);
    const nicSpecs = input.NetworkInterfaces ?? [];
    if (nicSpecs.length > 0 && (input.SubnetId || input.PrivateIpAddress || input.SecurityGroupIds)) {
      throw err(
        'InvalidParameterCombination',
        'Network interfaces and an instance-level subnet ID, private IP or security groups may not be specified on the same request',
      );
    }
    const wanted =
      nicSpecs.length > 0
        ? nicSpecs
        : [
            {
              DeviceIndex: 0,
              SubnetId: input.SubnetId,
              PrivateIpAddress: input.PrivateIpAddress,
              Groups: input.SecurityGroupIds,
            },
          ];
    if (!wanted.some((n) => n.DeviceIndex === 0))
      throw err('InvalidParameterValue', 'A network interface at device index 0 is required');
    if (wanted.length > spec.maxEnis)
      throw err('AttachmentLimitExceeded', `Interface count ${wanted.length} exceeds the limit for ${type}`);
    const devices = new Set<number>();
    for (const n of wanted) {
      if (n.NetworkInterfaceId)
        throw err(
          'InvalidParameterValue',
          'Attaching existing network interfaces at launch is not modelled by the local region',
        );
      if (n.DeviceIndex === undefined || devices.has(n.DeviceIndex))
        throw err('InvalidParameterValue', 'Each network interface needs a distinct DeviceIndex');
      devices.add(n.DeviceIndex);
      if (1 + (n.SecondaryPrivateIpAddressCount ?? 0) > spec.ipv4PerEni) {
        throw err('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
      }
      if (n.PrivateIpAddress && input.MaxCount > 1)
        throw err(
          'InvalidParameterCombination',
          'A private IP address cannot be given when launching more than one instance',
        );
    }
    const primarySubnet = this.subnet(wanted.find((n) => n.DeviceIndex === 0)?.SubnetId);
    const nics = wanted
      .map((n) => {
        const subnet = this.subnet(n.SubnetId ?? primarySubnet.id);
        if (subnet.az !== primarySubnet.az)
          throw err('InvalidParameterValue', 'All network interfaces must be in the same Availability Zone');
        if (n.PrivateIpAddress) {
          this.checkIpInSubnet(subnet, n.PrivateIpAddress);
          if (this.ipOwner.has(n.PrivateIpAddress))
            throw err('InvalidIPAddress.InUse', `Address ${n.PrivateIpAddress} is in use.`);
        }
        return { subnet, spec: n, groups: this.checkGroups(n.Groups) };
      })
      .sort((a, b) => (a.spec.DeviceIndex ?? 0) - (b.spec.DeviceIndex ?? 0));
    const reservationId = `r-${this.ctx.rng.hex(17)}`;
    const now = this.ctx.now();
    for (let index = 0; index < input.MaxCount; index++) {
      const inst: InstanceRec = {
        id: `i-${this.ctx.rng.hex(17)}`,
        reservationId,
        type,
        imageId: input.ImageId,
        subnetId: primarySubnet.id,
        groups: nics[0]?.groups ?? [this.defaultGroupId],
        state: 'pending',
        launchTime: new Date(now),
        launchIndex: index,
        tags: new Map(tags.get('instance') ?? []),
        tagVersion: 0,
        longestRunMs: 0,
        clientToken: input.ClientToken,
        keyName: input.KeyName,
        transitionReason: '',
        position: this.order.length,
      };
      for (const nic of nics) {
        const count = 1 + (nic.spec.SecondaryPrivateIpAddressCount ?? 0);
        const ips = nic.spec.PrivateIpAddress
          ? [nic.spec.PrivateIpAddress, ...this.freeIps(nic.subnet, count - 1, new Set([nic.spec.PrivateIpAddress]))]
          : this.freeIps(nic.subnet, count);
        const eni = this.newEni(
          nic.subnet,
          ips,
          nic.groups,
          nic.spec.Description ?? '',
          new Map(tags.get('network-interface') ?? []),
        );
        this.setAttachment(eni, {
          id: `eni-attach-${this.ctx.rng.hex(17)}`,
          instanceId: inst.id,
          deviceIndex: nic.spec.DeviceIndex ?? 0,
          // Interfaces created by RunInstances default to DeleteOnTermination=true.
          deleteOnTermination: nic.spec.DeleteOnTermination ?? true,
          time: new Date(now),
        });
      }
      this.instances.set(inst.id, inst);
      this.order.push(inst.id);
      const members = this.reservations.get(reservationId) ?? [];
      members.push(inst.id);
      this.reservations.set(reservationId, members);
      this.enter(inst, 'pending');
    }
    if (input.ClientToken) this.runTokens.set(input.ClientToken, reservationId);
    return this.reservation(reservationId);
  }

  private reservation(reservationId: string): Reservation {
    const instances = (this.reservations.get(reservationId) ?? []).flatMap((id) => this.instances.get(id) ?? []);
    return {
      ReservationId: reservationId,
      OwnerId: this.ctx.account,
      Groups: [],
      Instances: instances.map((i) => this.describeInstance(i)),
    };
  }

  DescribeInstances(input: DescribeInstancesRequest): DescribeInstancesResult {
    const max = checkMaxResults(input.MaxResults, 5, 1000);
    if (max !== undefined && input.InstanceIds && input.InstanceIds.length > 0) {
      throw err(
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults',
      );
    }
    const predicate = compileFilters(input.Filters, this.instanceReaders, (i) => i.tags);
    let candidates: InstanceRec[];
    let start = decodeToken(input.NextToken);
    if (input.InstanceIds && input.InstanceIds.length > 0) {
      candidates = this.instancesFor(input.InstanceIds);
      start = 0;
    } else {
      candidates = [];
      for (const id of this.order) {
        const inst = this.visible(id);
        if (inst) candidates.push(inst);
      }
    }
    const page: InstanceRec[] = [];
    let position = start;
    for (; position < candidates.length; position++) {
      const inst = candidates[position] as InstanceRec;
      if (!predicate(inst)) continue;
      if (max !== undefined && page.length === max) break;
      page.push(inst);
    }
    const reservations = new Map<string, Reservation>();
    for (const inst of page) {
      let r = reservations.get(inst.reservationId);
      if (!r) {
        r = { ReservationId: inst.reservationId, OwnerId: this.ctx.account, Groups: [], Instances: [] };
        reservations.set(inst.reservationId, r);
      }
      r.Instances?.push(this.describeInstance(inst));
    }
    return {
      Reservations: [...reservations.values()],
      NextToken: max !== undefined && position < candidates.length ? encodeToken(position) : undefined,
    };
  }

  private transition(ids: string[] | undefined, apply: (inst: InstanceRec) => void): InstanceStateChange[] {
    const list = this.instancesFor(ids);
    const before = list.map((i) => i.state);
    for (const inst of list) apply(inst);
    return list.map((inst, k) => ({
      InstanceId: inst.id,
      PreviousState: { Code: STATE_CODES[before[k] as InstanceStateName], Name: before[k] },
      CurrentState: { Code: STATE_CODES[inst.state], Name: inst.state },
    }));
  }

  TerminateInstances(input: TerminateInstancesRequest): TerminateInstancesResult {
    return {
      TerminatingInstances: this.transition(input.InstanceIds, (inst) => {
        if (inst.state === 'terminated' || inst.state === 'shutting-down') return;
        inst.next = undefined;
        this.transitioning.delete(inst.id);
        this.enter(inst, 'shutting-down');
      }),
    };
  }

  StopInstances(input: StopInstancesRequest): StopInstancesResult {
    for (const inst of this.instancesFor(input.InstanceIds)) {
      if (inst.state === 'pending' || inst.state === 'shutting-down' || inst.state === 'terminated') {
        throw err(
          'IncorrectInstanceState',
          `This instance '${inst.id}' is not in a state from which it can be stopped.`,
        );
      }
    }
    return {
      StoppingInstances: this.transition(input.InstanceIds, (inst) => {
        if (inst.state === 'running') this.enter(inst, 'stopping');
      }),
    };
  }

  StartInstances(input: StartInstancesRequest): StartInstancesResult {
    for (const inst of this.instancesFor(input.InstanceIds)) {
      if (inst.state === 'stopping' || inst.state === 'shutting-down' || inst.state === 'terminated') {
        throw err(
          'IncorrectInstanceState',
          `The instance '${inst.id}' is not in a state from which it can be started.`,
        );
      }
    }
    return {
      StartingInstances: this.transition(input.InstanceIds, (inst) => {
        if (inst.state === 'stopped') this.enter(inst, 'pending');
      }),
    };
  }

  DescribeInstanceTypes(input: DescribeInstanceTypesRequest): DescribeInstanceTypesResult {
    const max = checkMaxResults(input.MaxResults, 5, 100);
    const names =
      input.InstanceTypes && input.InstanceTypes.length > 0 ? [...input.InstanceTypes] : Object.keys(INSTANCE_TYPES);
    const unknown = names.filter((n) => !INSTANCE_TYPES[n]);
    if (unknown.length > 0) {
      throw err('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
    }
    const predicate = compileFilters(input.Filters, { 'instance-type': (n: string) => n }, () => new Map());
    const matching = names.filter(predicate);
    const start = decodeToken(input.NextToken);
    const end = max === undefined ? matching.length : Math.min(matching.length, start + max);
    const info = matching.slice(start, end).map((name): InstanceTypeInfo => {
      const s = INSTANCE_TYPES[name] as TypeSpec;
      return {
        InstanceType: name as InstanceTypeInfo['InstanceType'],
        CurrentGeneration: true,
        VCpuInfo: { DefaultVCpus: s.vcpus },
        MemoryInfo: { SizeInMiB: s.memoryMiB },
        NetworkInfo: {
          NetworkPerformance: s.networkPerformance,
          MaximumNetworkInterfaces: s.maxEnis,
          MaximumNetworkCards: 1,
          DefaultNetworkCardIndex: 0,
          NetworkCards: [
            { NetworkCardIndex: 0, NetworkPerformance: s.networkPerformance, MaximumNetworkInterfaces: s.maxEnis },
          ],
          Ipv4AddressesPerInterface: s.ipv4PerEni,
          Ipv6AddressesPerInterface: s.ipv6PerEni,
          Ipv6Supported: true,
          EnaSupport: 'required',
        },
      };
    });
    return { InstanceTypes: info, NextToken: end < matching.length ? encodeToken(end) : undefined };
  }

  DescribeAccountAttributes(input: DescribeAccountAttributesRequest): DescribeAccountAttributesResult {
    const all: Record<string, string[]> = {
      'supported-platforms': ['VPC'],
      'default-vpc': [this.vpcId],
      'max-instances': ['20'],
      'vpc-max-security-groups-per-interface': ['5'],
      'max-elastic-ips': ['5'],
      'vpc-max-elastic-ips': [String(this.opts.eipQuota)],
    };
    const names =
      input.AttributeNames && input.AttributeNames.length > 0 ? [...input.AttributeNames] : Object.keys(all);
    const attributes: AccountAttribute[] = names.map((name) => {
      const values = all[name];
      if (!values)
        throw err(
          'InvalidParameterValue',
          `Value (${name}) for parameter attributeName is invalid. Unknown attribute.`,
        );
      return { AttributeName: name, AttributeValues: values.map((AttributeValue) => ({ AttributeValue })) };
    });
    return { AccountAttributes: attributes };
  }

  // ---------- tags ----------

  private taggable(id: string): { tags: Map<string, string>; instance?: InstanceRec } {
    if (id.startsWith('i-')) {
      const inst = this.instance(id);
      return { tags: inst.tags, instance: inst };
    }
    if (id.startsWith('eni-')) return { tags: this.eni(id).tags };
    if (id.startsWith('eipalloc-')) return { tags: this.address(id).tags };
    throw err('InvalidID', `The ID '${id}' is not valid`);
  }

  private tagChanged(inst: InstanceRec, keys: string[]): void {
    inst.tagVersion += 1;
    this.ctx.emit('Tag Change on Resource', 'aws.tag', [this.instanceArn(inst.id)], {
      'changed-tag-keys': keys,
      service: 'ec2',
      'resource-type': 'instance',
      version: inst.tagVersion,
      tags: Object.fromEntries(inst.tags),
    });
  }

  CreateTags(input: CreateTagsRequest): Record<string, never> {
    const resources = input.Resources ?? [];
    if (resources.length === 0) throw err('MissingParameter', 'The request must contain the parameter resourceIdSet');
    const tags = validateTags(input.Tags ?? []);
    const targets = resources.map((id) => this.taggable(id));
    for (const t of targets) {
      const keys = new Set([...t.tags.keys(), ...tags.map(([k]) => k)]);
      if (keys.size > 50)
        throw err('TagLimitExceeded', 'The maximum number of tags per resource (50) has been exceeded');
    }
    for (const t of targets) {
      const changed = tags.filter(([k, v]) => t.tags.get(k) !== v).map(([k]) => k);
      for (const [k, v] of tags) t.tags.set(k, v);
      if (t.instance && changed.length > 0) this.tagChanged(t.instance, changed);
    }
    return {};
  }

  DeleteTags(input: DeleteTagsRequest): Record<string, never> {
    const resources = input.Resources ?? [];
    if (resources.length === 0) throw err('MissingParameter', 'The request must contain the parameter resourceIdSet');
    const targets = resources.map((id) => this.taggable(id));
    for (const t of targets) {
      const deleted: string[] = [];
      // No Tags at all deletes every tag; a tag with a Value deletes only when the value matches (an empty string
      // matches only an empty value); a tag without Value deletes the key whatever its value.
      const wanted = input.Tags ?? [...t.tags.keys()].map((Key) => ({ Key, Value: undefined }));
      for (const tag of wanted) {
        if (!tag.Key) continue;
        const current = t.tags.get(tag.Key);
        if (current === undefined) continue;
        if (tag.Value !== undefined && tag.Value !== current) continue;
        t.tags.delete(tag.Key);
        deleted.push(tag.Key);
      }
      if (t.instance && deleted.length > 0) this.tagChanged(t.instance, deleted);
    }
    return {};
  }

  // ---------- network interfaces ----------

  DescribeNetworkInterfaces(input: DescribeNetworkInterfacesRequest): DescribeNetworkInterfacesResult {
    const max = checkMaxResults(input.MaxResults, 5, 1000);
    const predicate = compileFilters(input.Filters, this.eniReaders, (e) => e.tags);
    const ids = input.NetworkInterfaceIds ?? [];
    if (ids.length > 0 && max !== undefined) {
      throw err(
        'InvalidParameterCombination',
        'The parameter NetworkInterfaceIds cannot be used with the parameter maxResults',
      );
    }
    const candidates = ids.length > 0 ? ids.map((id) => this.eni(id)) : [...this.enis.values()];
    const matching = candidates.filter(predicate);
    const start = decodeToken(input.NextToken);
    const end = max === undefined ? matching.length : Math.min(matching.length, start + max);
    return {
      NetworkInterfaces: matching.slice(start, end).map((e) => this.describeEni(e)),
      NextToken: end < matching.length ? encodeToken(end) : undefined,
    };
  }

  CreateNetworkInterface(input: CreateNetworkInterfaceRequest): CreateNetworkInterfaceResult {
    const { ClientToken, ...rest } = input;
    const fingerprint = JSON.stringify(rest);
    if (ClientToken) {
      const seen = this.eniTokens.get(ClientToken);
      if (seen) {
        if (seen.fingerprint !== fingerprint) {
          throw err(
            'IdempotentParameterMismatch',
            'The client token you have provided is associated with a resource that is different from the one you are creating.',
          );
        }
        // The first answer, even when that ENI has been deleted since (EC2 idempotency: the token is bound to one
        // request); an ENI still there is described as it is now.
        const existing = this.enis.get(seen.eniId);
        return { NetworkInterface: existing ? this.describeEni(existing) : structuredClone(seen.first), ClientToken };
      }
    }
    if (!input.SubnetId) throw err('MissingParameter', 'The request must contain the parameter SubnetId');
    const subnet = this.subnet(input.SubnetId);
    const groups = this.checkGroups(input.Groups);
    const tags =
      tagSpecs(input.TagSpecifications, ['network-interface']).get('network-interface') ?? new Map<string, string>();
    if (input.SecondaryPrivateIpAddressCount !== undefined && input.PrivateIpAddresses?.some((p) => !p.Primary)) {
      throw err(
        'InvalidParameterCombination',
        'SecondaryPrivateIpAddressCount cannot be combined with secondary PrivateIpAddresses',
      );
    }
    const explicit = [
      ...(input.PrivateIpAddress ? [input.PrivateIpAddress] : []),
      ...(input.PrivateIpAddresses ?? [])
        .map((p) => p.PrivateIpAddress ?? '')
        .filter((ip) => ip !== '' && ip !== input.PrivateIpAddress),
    ];
    for (const ip of explicit) {
      this.checkIpInSubnet(subnet, ip);
      if (this.ipOwner.has(ip)) throw err('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
    }
    const extra = (explicit.length === 0 ? 1 : 0) + (input.SecondaryPrivateIpAddressCount ?? 0);
    const ips = [...explicit, ...this.freeIps(subnet, extra, new Set(explicit))];
    const eni = this.newEni(subnet, ips, groups, input.Description ?? '', tags);
    const described = this.describeEni(eni);
    if (ClientToken) this.eniTokens.set(ClientToken, { eniId: eni.id, fingerprint, first: structuredClone(described) });
    return { NetworkInterface: described, ClientToken };
  }

  AttachNetworkInterface(input: AttachNetworkInterfaceRequest): AttachNetworkInterfaceResult {
    const eni = this.eni(input.NetworkInterfaceId);
    const inst = this.instance(input.InstanceId);
    if (input.DeviceIndex === undefined)
      throw err('MissingParameter', 'The request must contain the parameter DeviceIndex');
    if ((input.NetworkCardIndex ?? 0) !== 0)
      throw err('InvalidParameterValue', 'Network card index must be 0 for this instance type');
    if (inst.state !== 'running' && inst.state !== 'stopped') {
      throw err('IncorrectInstanceState', `The instance '${inst.id}' is not in a valid state for this operation.`);
    }
    if (eni.attachment) throw err('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
    const spec = this.typeSpec(inst.type);
    const attached = this.enisOf(inst.id);
    if (attached.some((e) => e.attachment?.deviceIndex === input.DeviceIndex)) {
      throw err(
        'InvalidParameterValue',
        `Instance '${inst.id}' already has an interface attached at device index '${input.DeviceIndex}'.`,
      );
    }
    if (attached.length + 1 > spec.maxEnis) {
      throw err('AttachmentLimitExceeded', `Interface count ${attached.length + 1} exceeds the limit for ${inst.type}`);
    }
    if (eni.ips.length > spec.ipv4PerEni)
      throw err('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
    if (this.subnet(eni.subnetId).az !== this.subnet(inst.subnetId).az) {
      throw err(
        'InvalidParameterCombination',
        'You may not attach a network interface to an instance if they are not in the same availability zone',
      );
    }
    const attachmentId = `eni-attach-${this.ctx.rng.hex(17)}`;
    this.setAttachment(eni, {
      id: attachmentId,
      instanceId: inst.id,
      deviceIndex: input.DeviceIndex,
      // AttachNetworkInterface leaves DeleteOnTermination false: ModifyNetworkInterfaceAttribute sets it.
      deleteOnTermination: false,
      time: new Date(this.ctx.now()),
    });
    this.changed({ type: 'network-changed', instanceId: inst.id });
    return { AttachmentId: attachmentId, NetworkCardIndex: 0 };
  }

  private eniByAttachment(attachmentId: string | undefined): EniRec {
    if (!attachmentId) throw err('MissingParameter', 'The request must contain the parameter AttachmentId');
    for (const eni of this.enis.values()) if (eni.attachment?.id === attachmentId) return eni;
    throw err('InvalidAttachmentID.NotFound', `Interface attachment '${attachmentId}' does not exist.`);
  }

  DetachNetworkInterface(input: DetachNetworkInterfaceRequest): Record<string, never> {
    const eni = this.eniByAttachment(input.AttachmentId);
    if (eni.attachment?.deviceIndex === 0) {
      throw err('OperationNotPermitted', 'The network interface at device index 0 cannot be detached.');
    }
    const instanceId = eni.attachment?.instanceId ?? '';
    // Elastic IPs stay associated with the interface (not the instance) when it is detached.
    this.setAttachment(eni, undefined);
    this.changed({ type: 'network-changed', instanceId });
    return {};
  }

  DeleteNetworkInterface(input: DeleteNetworkInterfaceRequest): Record<string, never> {
    const eni = this.eni(input.NetworkInterfaceId);
    if (eni.attachment)
      throw err('InvalidNetworkInterface.InUse', `The network interface '${eni.id}' is currently in use.`);
    this.destroyEni(eni);
    return {};
  }

  ModifyNetworkInterfaceAttribute(input: ModifyNetworkInterfaceAttributeRequest): Record<string, never> {
    const eni = this.eni(input.NetworkInterfaceId);
    const given = [input.Attachment, input.Description, input.Groups, input.SourceDestCheck].filter(
      (v) => v !== undefined,
    );
    if (given.length !== 1) {
      throw err(
        'InvalidParameterCombination',
        'Exactly one of Attachment, Description, Groups and SourceDestCheck must be given',
      );
    }
    if (input.Attachment) {
      if (!eni.attachment || eni.attachment.id !== input.Attachment.AttachmentId) {
        throw err(
          'InvalidAttachmentID.NotFound',
          `Interface attachment '${input.Attachment.AttachmentId}' does not exist.`,
        );
      }
      if (input.Attachment.DeleteOnTermination !== undefined)
        eni.attachment.deleteOnTermination = input.Attachment.DeleteOnTermination;
    }
    if (input.Description) eni.description = input.Description.Value ?? '';
    if (input.Groups) eni.groups = this.checkGroups(input.Groups);
    if (input.SourceDestCheck) eni.sourceDestCheck = input.SourceDestCheck.Value ?? true;
    return {};
  }

  AssignPrivateIpAddresses(input: AssignPrivateIpAddressesRequest): AssignPrivateIpAddressesResult {
    const eni = this.eni(input.NetworkInterfaceId);
    const explicit = input.PrivateIpAddresses ?? [];
    const count = input.SecondaryPrivateIpAddressCount;
    if (explicit.length > 0 && count !== undefined) {
      throw err(
        'InvalidParameterCombination',
        'PrivateIpAddresses and SecondaryPrivateIpAddressCount cannot both be given',
      );
    }
    if (explicit.length === 0 && (count === undefined || count < 1)) {
      throw err('MissingParameter', 'Either PrivateIpAddresses or SecondaryPrivateIpAddressCount must be given');
    }
    const adding = explicit.length > 0 ? explicit.length : (count ?? 0);
    const inst = eni.attachment ? this.instances.get(eni.attachment.instanceId) : undefined;
    if (inst && eni.ips.length + adding > this.typeSpec(inst.type).ipv4PerEni) {
      throw err('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
    }
    const subnet = this.subnet(eni.subnetId);
    for (const ip of explicit) {
      this.checkIpInSubnet(subnet, ip);
      const owner = this.ipOwner.get(ip);
      if (owner === eni.id) throw err('InvalidParameterValue', `Address ${ip} is already assigned to ${eni.id}`);
      if (owner && !input.AllowReassignment) throw err('PrivateIpAddressInUse', `Address ${ip} is in use.`);
      if (owner && this.enis.get(owner)?.ips[0] === ip)
        throw err('InvalidParameterValue', `Address ${ip} is a primary address and cannot be reassigned`);
    }
    const ips = explicit.length > 0 ? explicit : this.freeIps(subnet, adding);
    for (const ip of ips) {
      const owner = this.ipOwner.get(ip);
      const from = owner ? this.enis.get(owner) : undefined;
      if (from) {
        // Moving a secondary IP moves its Elastic IP with it (FACTS.md).
        from.ips = from.ips.filter((x) => x !== ip);
        const addr = this.eipAt(from.id, ip);
        if (addr?.association) {
          this.eipOnIp.delete(`${from.id}|${ip}`);
          addr.association.eniId = eni.id;
          this.eipOnIp.set(`${eni.id}|${ip}`, addr.allocationId);
        }
        if (from.attachment) this.changed({ type: 'network-changed', instanceId: from.attachment.instanceId });
      }
      this.ipOwner.set(ip, eni.id);
      eni.ips.push(ip);
    }
    if (eni.attachment) this.changed({ type: 'network-changed', instanceId: eni.attachment.instanceId });
    return {
      NetworkInterfaceId: eni.id,
      AssignedPrivateIpAddresses: ips.map((PrivateIpAddress) => ({ PrivateIpAddress })),
      AssignedIpv4Prefixes: [],
    };
  }

  UnassignPrivateIpAddresses(input: UnassignPrivateIpAddressesRequest): Record<string, never> {
    const eni = this.eni(input.NetworkInterfaceId);
    const ips = input.PrivateIpAddresses ?? [];
    if (ips.length === 0) throw err('MissingParameter', 'The request must contain the parameter PrivateIpAddresses');
    for (const ip of ips) {
      if (!eni.ips.includes(ip))
        throw err('InvalidParameterValue', `Some of the specified addresses are not assigned to interface ${eni.id}`);
      if (eni.ips[0] === ip)
        throw err('InvalidParameterValue', `The primary private IP address ${ip} cannot be unassigned`);
    }
    for (const ip of ips) {
      // Undocumented in AWS (FACTS.md); we disassociate an EIP left on the address and keep it allocated.
      const addr = this.eipAt(eni.id, ip);
      if (addr) this.disassociate(addr);
      this.ipOwner.delete(ip);
    }
    eni.ips = eni.ips.filter((ip) => !ips.includes(ip));
    if (eni.attachment) this.changed({ type: 'network-changed', instanceId: eni.attachment.instanceId });
    return {};
  }

  // ---------- Elastic IPs ----------

  private nextPublicIp(wanted?: string): string {
    if (wanted) {
      if (this.publicInUse.has(wanted)) throw err('InvalidAddress.InUse', `Address ${wanted} is already allocated.`);
      return wanted;
    }
    const ranges = this.opts.publicIpRanges ?? PUBLIC_RANGES;
    const total = ranges.length * 254;
    for (let tried = 0; tried < total; tried++) {
      const k = (this.publicCursor + tried) % total;
      const ip = `${ranges[Math.floor(k / 254)]}.${(k % 254) + 1}`;
      if (!this.publicInUse.has(ip)) {
        this.publicCursor = (k + 1) % total;
        return ip;
      }
    }
    throw err('InsufficientAddressCapacity', 'There are no more public addresses available in the local region.');
  }

  AllocateAddress(input: AllocateAddressRequest): AllocateAddressResult {
    if (input.Domain && input.Domain !== 'vpc')
      throw err('InvalidParameterValue', `Invalid value '${input.Domain}' for domain.`);
    if (input.PublicIpv4Pool && input.PublicIpv4Pool !== 'amazon') {
      throw err('InvalidPublicIpv4PoolID.NotFound', `The public IPv4 pool '${input.PublicIpv4Pool}' does not exist`);
    }
    // Everything is validated before the address exists: TagSpecifications are atomic with the allocation.
    const tags = tagSpecs(input.TagSpecifications, ['elastic-ip']).get('elastic-ip') ?? new Map<string, string>();
    if (this.addresses.size >= this.opts.eipQuota)
      throw err('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
    const publicIp = this.nextPublicIp(input.Address);
    const addr: AddressRec = { allocationId: `eipalloc-${this.ctx.rng.hex(17)}`, publicIp, tags };
    this.publicInUse.add(publicIp);
    this.addresses.set(addr.allocationId, addr);
    return {
      AllocationId: addr.allocationId,
      PublicIp: publicIp,
      Domain: 'vpc',
      PublicIpv4Pool: 'amazon',
      NetworkBorderGroup: this.ctx.region,
    };
  }

  AssociateAddress(input: AssociateAddressRequest): AssociateAddressResult {
    const addr = this.address(input.AllocationId, input.PublicIp);
    if (!input.InstanceId && !input.NetworkInterfaceId) {
      throw err('MissingParameter', 'Either instance ID or network interface ID must be specified');
    }
    let eni: EniRec;
    if (input.NetworkInterfaceId) {
      eni = this.eni(input.NetworkInterfaceId);
      if (input.InstanceId && eni.attachment?.instanceId !== input.InstanceId) {
        throw err(
          'InvalidParameterCombination',
          `Network interface '${eni.id}' is not attached to instance '${input.InstanceId}'`,
        );
      }
    } else {
      const inst = this.instance(input.InstanceId);
      if (inst.state !== 'running' && inst.state !== 'stopped') {
        throw err('InvalidInstanceID', `The instance '${inst.id}' is not in a valid state for this operation.`);
      }
      const enis = this.enisOf(inst.id);
      if (enis.length > 1) {
        throw err(
          'InvalidInstanceID',
          `There are multiple interfaces attached to instance '${inst.id}'. Please specify an interface ID for the operation instead.`,
        );
      }
      const primary = enis[0];
      if (!primary) throw err('InvalidInstanceID', `The instance '${inst.id}' has no network interface.`);
      eni = primary;
    }
    const privateIp = input.PrivateIpAddress ?? eni.ips[0] ?? '';
    if (!eni.ips.includes(privateIp)) {
      // The error AWS returns here is undocumented (FACTS.md); InvalidParameterValue is the likely one.
      throw err(
        'InvalidParameterValue',
        `The private IP address ${privateIp} is not assigned to network interface ${eni.id}`,
      );
    }
    const occupant = this.eipAt(eni.id, privateIp);
    const allow = input.AllowReassociation ?? true;
    if (!allow) {
      if (addr.association) {
        throw err(
          'Resource.AlreadyAssociated',
          `resource ${addr.allocationId} is already associated with associate-id ${addr.association.id}`,
        );
      }
      if (occupant && occupant !== addr) {
        throw err(
          'Resource.AlreadyAssociated',
          `resource ${eni.id} is already associated with associate-id ${occupant.association?.id}`,
        );
      }
    }
    if (occupant && occupant !== addr) this.disassociate(occupant);
    this.disassociate(addr);
    addr.association = { id: `eipassoc-${this.ctx.rng.hex(17)}`, eniId: eni.id, privateIp };
    this.eipOnIp.set(`${eni.id}|${privateIp}`, addr.allocationId);
    this.changed({
      type: 'address-associated',
      allocationId: addr.allocationId,
      publicIp: addr.publicIp,
      eniId: eni.id,
      privateIp,
      instanceId: eni.attachment?.instanceId,
    });
    return { AssociationId: addr.association.id };
  }

  DisassociateAddress(input: DisassociateAddressRequest): Record<string, never> {
    let addr: AddressRec | undefined;
    if (input.AssociationId) {
      for (const a of this.addresses.values()) if (a.association?.id === input.AssociationId) addr = a;
      if (!addr)
        throw err('InvalidAssociationID.NotFound', `The association ID '${input.AssociationId}' does not exist`);
    } else {
      addr = this.address(undefined, input.PublicIp);
    }
    this.disassociate(addr);
    return {};
  }

  ReleaseAddress(input: ReleaseAddressRequest): Record<string, never> {
    const addr = this.address(input.AllocationId, input.PublicIp);
    if (addr.association) throw err('InvalidIPAddress.InUse', `Address ${addr.publicIp} is in use.`);
    this.addresses.delete(addr.allocationId);
    this.publicInUse.delete(addr.publicIp);
    return {};
  }

  DescribeAddresses(input: DescribeAddressesRequest): DescribeAddressesResult {
    const predicate = compileFilters(input.Filters, this.addressReaders, (a) => a.tags);
    let candidates = [...this.addresses.values()];
    if (input.AllocationIds && input.AllocationIds.length > 0) {
      candidates = input.AllocationIds.map((id) => this.address(id));
    }
    if (input.PublicIps && input.PublicIps.length > 0) {
      const wanted = new Set(input.PublicIps);
      const found = candidates.filter((a) => wanted.has(a.publicIp));
      if (found.length < wanted.size) {
        const missing = [...wanted].filter((ip) => !found.some((a) => a.publicIp === ip));
        throw err('InvalidAddress.NotFound', `Address '${missing.join(', ')}' not found.`);
      }
      candidates = found;
    }
    return { Addresses: candidates.filter(predicate).map((a) => this.describeAddress(a)) };
  }
}
