/** Elastic IPs: allocation (with the account quota), association, release. */
import type {
  AllocateAddressRequest,
  AllocateAddressResult,
  AssociateAddressRequest,
  AssociateAddressResult,
  DescribeAddressesRequest,
  DescribeAddressesResult,
  DisassociateAddressRequest,
  ReleaseAddressRequest,
} from '@aws-sdk/client-ec2';
import * as shapes from './shapes';
import * as readers from './readers';
import { regionError } from '../errors';
import { compileFilters } from '../filters';
import { type AddressRec, type EniRec, PUBLIC_RANGES, tagSpecs } from './records';
import type { Ec2State } from './state';

function nextPublicIp(s: Ec2State, wanted?: string): string {
  if (wanted) {
    if (s.publicInUse.has(wanted)) throw regionError('InvalidAddress.InUse', `Address ${wanted} is already allocated.`);
    return wanted;
  }
  const ranges = s.opts.publicIpRanges ?? PUBLIC_RANGES;
  const total = ranges.length * 254;
  for (let tried = 0; tried < total; tried++) {
    const k = (s.publicCursor + tried) % total;
    const ip = `${ranges[Math.floor(k / 254)]}.${(k % 254) + 1}`;
    if (!s.publicInUse.has(ip)) {
      s.publicCursor = (k + 1) % total;
      return ip;
    }
  }
  throw regionError('InsufficientAddressCapacity', 'There are no more public addresses available in the local region.');
}

export function AllocateAddress(s: Ec2State, input: AllocateAddressRequest): AllocateAddressResult {
  if (input.Domain && input.Domain !== 'vpc')
    throw regionError('InvalidParameterValue', `Invalid value '${input.Domain}' for domain.`);
  if (input.PublicIpv4Pool && input.PublicIpv4Pool !== 'amazon') {
    throw regionError(
      'InvalidPublicIpv4PoolID.NotFound',
      `The public IPv4 pool '${input.PublicIpv4Pool}' does not exist`,
    );
  }
  // Everything is validated before the address exists: TagSpecifications are atomic with the allocation.
  const tags = tagSpecs(input.TagSpecifications, ['elastic-ip']).get('elastic-ip') ?? new Map<string, string>();
  if (s.addresses.size >= s.opts.eipQuota)
    throw regionError('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
  const publicIp = nextPublicIp(s, input.Address);
  const addr: AddressRec = { allocationId: `eipalloc-${s.ctx.rng.hex(17)}`, publicIp, tags };
  s.publicInUse.add(publicIp);
  s.addresses.set(addr.allocationId, addr);
  return {
    AllocationId: addr.allocationId,
    PublicIp: publicIp,
    Domain: 'vpc',
    PublicIpv4Pool: 'amazon',
    NetworkBorderGroup: s.ctx.region,
  };
}

export function AssociateAddress(s: Ec2State, input: AssociateAddressRequest): AssociateAddressResult {
  const addr = s.address(input.AllocationId, input.PublicIp);
  if (!input.InstanceId && !input.NetworkInterfaceId) {
    throw regionError('MissingParameter', 'Either instance ID or network interface ID must be specified');
  }
  let eni: EniRec;
  if (input.NetworkInterfaceId) {
    eni = s.eni(input.NetworkInterfaceId);
    if (input.InstanceId && eni.attachment?.instanceId !== input.InstanceId) {
      throw regionError(
        'InvalidParameterCombination',
        `Network interface '${eni.id}' is not attached to instance '${input.InstanceId}'`,
      );
    }
  } else {
    const inst = s.instance(input.InstanceId);
    if (inst.state !== 'running' && inst.state !== 'stopped') {
      throw regionError('InvalidInstanceID', `The instance '${inst.id}' is not in a valid state for this operation.`);
    }
    const enis = s.enisOf(inst.id);
    if (enis.length > 1) {
      throw regionError(
        'InvalidInstanceID',
        `There are multiple interfaces attached to instance '${inst.id}'. Please specify an interface ID for the ` +
          `operation instead.`,
      );
    }
    const primary = enis[0];
    if (!primary) throw regionError('InvalidInstanceID', `The instance '${inst.id}' has no network interface.`);
    eni = primary;
  }
  const privateIp = input.PrivateIpAddress ?? eni.ips[0] ?? '';
  if (!eni.ips.includes(privateIp)) {
    // The error AWS returns here is undocumented (docs/aws-facts.md); InvalidParameterValue is the likely one.
    throw regionError(
      'InvalidParameterValue',
      `The private IP address ${privateIp} is not assigned to network interface ${eni.id}`,
    );
  }
  const occupant = s.eipAt(eni.id, privateIp);
  const allow = input.AllowReassociation ?? true;
  if (!allow) {
    if (addr.association) {
      throw regionError(
        'Resource.AlreadyAssociated',
        `resource ${addr.allocationId} is already associated with associate-id ${addr.association.id}`,
      );
    }
    if (occupant && occupant !== addr) {
      throw regionError(
        'Resource.AlreadyAssociated',
        `resource ${eni.id} is already associated with associate-id ${occupant.association?.id}`,
      );
    }
  }
  if (occupant && occupant !== addr) s.disassociate(occupant);
  s.disassociate(addr);
  addr.association = { id: `eipassoc-${s.ctx.rng.hex(17)}`, eniId: eni.id, privateIp };
  s.eipOnIp.set(`${eni.id}|${privateIp}`, addr.allocationId);
  s.changed({
    type: 'address-associated',
    allocationId: addr.allocationId,
    publicIp: addr.publicIp,
    eniId: eni.id,
    privateIp,
    instanceId: eni.attachment?.instanceId,
  });
  return { AssociationId: addr.association.id };
}

export function DisassociateAddress(s: Ec2State, input: DisassociateAddressRequest): Record<string, never> {
  let addr: AddressRec | undefined;
  if (input.AssociationId) {
    for (const a of s.addresses.values()) if (a.association?.id === input.AssociationId) addr = a;
    if (!addr)
      throw regionError('InvalidAssociationID.NotFound', `The association ID '${input.AssociationId}' does not exist`);
  } else {
    addr = s.address(undefined, input.PublicIp);
  }
  s.disassociate(addr);
  return {};
}

export function ReleaseAddress(s: Ec2State, input: ReleaseAddressRequest): Record<string, never> {
  const addr = s.address(input.AllocationId, input.PublicIp);
  if (addr.association) throw regionError('InvalidIPAddress.InUse', `Address ${addr.publicIp} is in use.`);
  s.addresses.delete(addr.allocationId);
  s.publicInUse.delete(addr.publicIp);
  return {};
}

export function DescribeAddresses(s: Ec2State, input: DescribeAddressesRequest): DescribeAddressesResult {
  const predicate = compileFilters(input.Filters, readers.readersOf(s).address, (a) => a.tags);
  let candidates = [...s.addresses.values()];
  if (input.AllocationIds && input.AllocationIds.length > 0) {
    candidates = input.AllocationIds.map((id) => s.address(id));
  }
  if (input.PublicIps && input.PublicIps.length > 0) {
    const wanted = new Set(input.PublicIps);
    const found = candidates.filter((a) => wanted.has(a.publicIp));
    if (found.length < wanted.size) {
      const missing = [...wanted].filter((ip) => !found.some((a) => a.publicIp === ip));
      throw regionError('InvalidAddress.NotFound', `Address '${missing.join(', ')}' not found.`);
    }
    candidates = found;
  }
  return { Addresses: candidates.filter(predicate).map((a) => shapes.describeAddress(s, a)) };
}
