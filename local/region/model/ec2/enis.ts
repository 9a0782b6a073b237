/** Network interfaces and their private IPs. */
import type {
  AssignPrivateIpAddressesRequest,
  AssignPrivateIpAddressesResult,
  AttachNetworkInterfaceRequest,
  AttachNetworkInterfaceResult,
  CreateNetworkInterfaceRequest,
  CreateNetworkInterfaceResult,
  DeleteNetworkInterfaceRequest,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  DetachNetworkInterfaceRequest,
  ModifyNetworkInterfaceAttributeRequest,
  UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import * as time from './time';
import * as shapes from './shapes';
import * as readers from './readers';
import { regionError } from '../errors';
import { checkMaxResults, compileFilters, decodeToken, encodeToken } from '../filters';
import { type EniRec, tagSpecs } from './records';
import type { Ec2State } from './state';

export function DescribeNetworkInterfaces(
  s: Ec2State,
  input: DescribeNetworkInterfacesRequest,
): DescribeNetworkInterfacesResult {
  const max = checkMaxResults(input.MaxResults, 5, 1000);
  const predicate = compileFilters(input.Filters, readers.readersOf(s).eni, (e) => e.tags);
  const ids = input.NetworkInterfaceIds ?? [];
  if (ids.length > 0 && max !== undefined) {
    throw regionError(
      'InvalidParameterCombination',
      'The parameter NetworkInterfaceIds cannot be used with the parameter maxResults',
    );
  }
  const candidates = ids.length > 0 ? ids.map((id) => s.eni(id)) : [...s.enis.values()];
  // A page is a window of MaxResults ENIs, filtered afterwards: a filtered describe can answer an empty page with a
  // NextToken, as EC2 does.
  const start = decodeToken(input.NextToken);
  const end = max === undefined ? candidates.length : Math.min(candidates.length, start + max);
  return {
    NetworkInterfaces: candidates
      .slice(start, end)
      .filter(predicate)
      .map((e) => shapes.describeEni(s, e)),
    NextToken: end < candidates.length ? encodeToken(end) : undefined,
  };
}

export function CreateNetworkInterface(
  s: Ec2State,
  input: CreateNetworkInterfaceRequest,
): CreateNetworkInterfaceResult {
  const { ClientToken, ...rest } = input;
  const fingerprint = JSON.stringify(rest);
  if (ClientToken) {
    const seen = s.eniTokens.get(ClientToken);
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        throw regionError(
          'IdempotentParameterMismatch',
          'The client token you have provided is associated with a resource that is different from the one you are ' +
            'creating.',
        );
      }
      // The first answer, even when that ENI has been deleted since (EC2 idempotency: the token is bound to one
      // request); an ENI still there is described as it is now.
      const existing = s.enis.get(seen.eniId);
      return {
        NetworkInterface: existing ? shapes.describeEni(s, existing) : structuredClone(seen.first),
        ClientToken,
      };
    }
  }
  if (!input.SubnetId) throw regionError('MissingParameter', 'The request must contain the parameter SubnetId');
  const subnet = s.subnet(input.SubnetId);
  const groups = s.checkGroups(input.Groups);
  const tags =
    tagSpecs(input.TagSpecifications, ['network-interface']).get('network-interface') ?? new Map<string, string>();
  if (input.SecondaryPrivateIpAddressCount !== undefined && input.PrivateIpAddresses?.some((p) => !p.Primary)) {
    throw regionError(
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
    s.checkIpInSubnet(subnet, ip);
    if (s.ipOwner.has(ip)) throw regionError('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
  }
  const extra = (explicit.length === 0 ? 1 : 0) + (input.SecondaryPrivateIpAddressCount ?? 0);
  const ips = [...explicit, ...s.freeIps(subnet, extra, new Set(explicit))];
  const eni = s.newEni(subnet, ips, groups, input.Description ?? '', tags);
  // An EFA-only interface has no IP in AWS; the model keeps the one it allocated (nothing reads it for efa-only).
  if (input.InterfaceType) eni.interfaceType = input.InterfaceType;
  const described = shapes.describeEni(s, eni);
  if (ClientToken) s.eniTokens.set(ClientToken, { eniId: eni.id, fingerprint, first: structuredClone(described) });
  return { NetworkInterface: described, ClientToken };
}

export function AttachNetworkInterface(
  s: Ec2State,
  input: AttachNetworkInterfaceRequest,
): AttachNetworkInterfaceResult {
  const eni = s.eni(input.NetworkInterfaceId);
  const inst = s.instance(input.InstanceId);
  if (input.DeviceIndex === undefined)
    throw regionError('MissingParameter', 'The request must contain the parameter DeviceIndex');
  if (inst.state !== 'running' && inst.state !== 'stopped') {
    throw regionError(
      'IncorrectInstanceState',
      `The instance '${inst.id}' is not in a valid state for this operation.`,
    );
  }
  if (eni.attachment) throw regionError('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
  const spec = s.typeSpec(inst.type);
  // Each network card has its own device indices and its own ENI limit (NetworkCards[]); the default card is 0.
  const card = input.NetworkCardIndex ?? 0;
  const cards = spec.networkCards ?? 1;
  if (!Number.isInteger(card) || card < 0 || card >= cards) {
    throw regionError('InvalidParameterValue', `Network card index ${card} is not valid for ${inst.type}`);
  }
  const attached = s.enisOf(inst.id);
  const onCard = attached.filter((e) => (e.attachment?.networkCardIndex ?? 0) === card);
  if (onCard.some((e) => e.attachment?.deviceIndex === input.DeviceIndex)) {
    throw regionError(
      'InvalidParameterValue',
      `Instance '${inst.id}' already has an interface attached at device index '${input.DeviceIndex}'.`,
    );
  }
  if (onCard.length + 1 > spec.maxEnis / cards) {
    throw regionError(
      'AttachmentLimitExceeded',
      `Interface count ${onCard.length + 1} exceeds the limit of network card ${card} for ${inst.type}`,
    );
  }
  if (attached.length + 1 > spec.maxEnis) {
    throw regionError(
      'AttachmentLimitExceeded',
      `Interface count ${attached.length + 1} exceeds the limit for ${inst.type}`,
    );
  }
  if (eni.ips.length > spec.ipv4PerEni)
    throw regionError('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
  if (s.subnet(eni.subnetId).az !== s.subnet(inst.subnetId).az) {
    throw regionError(
      'InvalidParameterCombination',
      'You may not attach a network interface to an instance if they are not in the same availability zone',
    );
  }
  const attachmentId = `eni-attach-${s.ctx.rng.hex(17)}`;
  s.setAttachment(eni, {
    id: attachmentId,
    instanceId: inst.id,
    deviceIndex: input.DeviceIndex,
    networkCardIndex: card,
    // AttachNetworkInterface leaves DeleteOnTermination false: ModifyNetworkInterfaceAttribute sets it.
    deleteOnTermination: false,
    time: new Date(s.ctx.now()),
  });
  s.changed({ type: 'network-changed', instanceId: inst.id });
  return { AttachmentId: attachmentId, NetworkCardIndex: card };
}

function eniByAttachment(s: Ec2State, attachmentId: string | undefined): EniRec {
  if (!attachmentId) throw regionError('MissingParameter', 'The request must contain the parameter AttachmentId');
  for (const eni of s.enis.values()) if (eni.attachment?.id === attachmentId) return eni;
  throw regionError('InvalidAttachmentID.NotFound', `Interface attachment '${attachmentId}' does not exist.`);
}

export function DetachNetworkInterface(s: Ec2State, input: DetachNetworkInterfaceRequest): Record<string, never> {
  const eni = eniByAttachment(s, input.AttachmentId);
  if (eni.attachment?.deviceIndex === 0 && (eni.attachment.networkCardIndex ?? 0) === 0) {
    throw regionError('OperationNotPermitted', 'The network interface at device index 0 cannot be detached.');
  }
  const instanceId = eni.attachment?.instanceId ?? '';
  // Elastic IPs stay associated with the interface (not the instance) when it is detached.
  s.setAttachment(eni, undefined);
  s.changed({ type: 'network-changed', instanceId });
  return {};
}

export function DeleteNetworkInterface(s: Ec2State, input: DeleteNetworkInterfaceRequest): Record<string, never> {
  const eni = s.eni(input.NetworkInterfaceId);
  if (eni.attachment)
    throw regionError('InvalidNetworkInterface.InUse', `The network interface '${eni.id}' is currently in use.`);
  time.destroyEni(s, eni);
  return {};
}

export function ModifyNetworkInterfaceAttribute(
  s: Ec2State,
  input: ModifyNetworkInterfaceAttributeRequest,
): Record<string, never> {
  const eni = s.eni(input.NetworkInterfaceId);
  const given = [input.Attachment, input.Description, input.Groups, input.SourceDestCheck].filter(
    (v) => v !== undefined,
  );
  if (given.length !== 1) {
    throw regionError(
      'InvalidParameterCombination',
      'Exactly one of Attachment, Description, Groups and SourceDestCheck must be given',
    );
  }
  if (input.Attachment) {
    if (!eni.attachment || eni.attachment.id !== input.Attachment.AttachmentId) {
      throw regionError(
        'InvalidAttachmentID.NotFound',
        `Interface attachment '${input.Attachment.AttachmentId}' does not exist.`,
      );
    }
    if (input.Attachment.DeleteOnTermination !== undefined)
      eni.attachment.deleteOnTermination = input.Attachment.DeleteOnTermination;
  }
  if (input.Description) eni.description = input.Description.Value ?? '';
  if (input.Groups) eni.groups = s.checkGroups(input.Groups);
  if (input.SourceDestCheck) eni.sourceDestCheck = input.SourceDestCheck.Value ?? true;
  return {};
}

export function AssignPrivateIpAddresses(
  s: Ec2State,
  input: AssignPrivateIpAddressesRequest,
): AssignPrivateIpAddressesResult {
  const eni = s.eni(input.NetworkInterfaceId);
  const explicit = input.PrivateIpAddresses ?? [];
  const count = input.SecondaryPrivateIpAddressCount;
  if (explicit.length > 0 && count !== undefined) {
    throw regionError(
      'InvalidParameterCombination',
      'PrivateIpAddresses and SecondaryPrivateIpAddressCount cannot both be given',
    );
  }
  if (explicit.length === 0 && (count === undefined || count < 1)) {
    throw regionError('MissingParameter', 'Either PrivateIpAddresses or SecondaryPrivateIpAddressCount must be given');
  }
  const adding = explicit.length > 0 ? explicit.length : (count ?? 0);
  const inst = eni.attachment ? s.instances.get(eni.attachment.instanceId) : undefined;
  if (inst && eni.ips.length + adding > s.typeSpec(inst.type).ipv4PerEni) {
    throw regionError('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
  }
  const subnet = s.subnet(eni.subnetId);
  for (const ip of explicit) {
    s.checkIpInSubnet(subnet, ip);
    const owner = s.ipOwner.get(ip);
    if (owner === eni.id) throw regionError('InvalidParameterValue', `Address ${ip} is already assigned to ${eni.id}`);
    if (owner && !input.AllowReassignment) throw regionError('PrivateIpAddressInUse', `Address ${ip} is in use.`);
    if (owner && s.enis.get(owner)?.ips[0] === ip)
      throw regionError('InvalidParameterValue', `Address ${ip} is a primary address and cannot be reassigned`);
  }
  const ips = explicit.length > 0 ? explicit : s.freeIps(subnet, adding);
  for (const ip of ips) {
    const owner = s.ipOwner.get(ip);
    const from = owner ? s.enis.get(owner) : undefined;
    if (from) {
      // Moving a secondary IP moves its Elastic IP with it (docs/aws-facts.md).
      from.ips = from.ips.filter((x) => x !== ip);
      const addr = s.eipAt(from.id, ip);
      if (addr?.association) {
        s.eipOnIp.delete(`${from.id}|${ip}`);
        addr.association.eniId = eni.id;
        s.eipOnIp.set(`${eni.id}|${ip}`, addr.allocationId);
      }
      if (from.attachment) s.changed({ type: 'network-changed', instanceId: from.attachment.instanceId });
    }
    s.ipOwner.set(ip, eni.id);
    eni.ips.push(ip);
  }
  if (eni.attachment) s.changed({ type: 'network-changed', instanceId: eni.attachment.instanceId });
  return {
    NetworkInterfaceId: eni.id,
    AssignedPrivateIpAddresses: ips.map((PrivateIpAddress) => ({ PrivateIpAddress })),
    AssignedIpv4Prefixes: [],
  };
}

export function UnassignPrivateIpAddresses(
  s: Ec2State,
  input: UnassignPrivateIpAddressesRequest,
): Record<string, never> {
  const eni = s.eni(input.NetworkInterfaceId);
  const ips = input.PrivateIpAddresses ?? [];
  if (ips.length === 0)
    throw regionError('MissingParameter', 'The request must contain the parameter PrivateIpAddresses');
  for (const ip of ips) {
    if (!eni.ips.includes(ip))
      throw regionError(
        'InvalidParameterValue',
        `Some of the specified addresses are not assigned to interface ${eni.id}`,
      );
    if (eni.ips[0] === ip)
      throw regionError('InvalidParameterValue', `The primary private IP address ${ip} cannot be unassigned`);
  }
  for (const ip of ips) {
    // Undocumented in AWS (docs/aws-facts.md); we disassociate an EIP left on the address and keep it allocated.
    const addr = s.eipAt(eni.id, ip);
    if (addr) s.disassociate(addr);
    s.ipOwner.delete(ip);
  }
  eni.ips = eni.ips.filter((ip) => !ips.includes(ip));
  if (eni.attachment) s.changed({ type: 'network-changed', instanceId: eni.attachment.instanceId });
  return {};
}
