/** RunInstances, DescribeInstances, the state changes, instance types and account attributes. */
import type {
  AccountAttribute,
  DescribeAccountAttributesRequest,
  DescribeAccountAttributesResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeInstanceTypesRequest,
  DescribeInstanceTypesResult,
  InstanceStateChange,
  InstanceStateName,
  InstanceTypeInfo,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import * as time from './time';
import * as shapes from './shapes';
import * as readers from './readers';
import { regionError } from '../errors';
import { checkMaxResults, compileFilters, decodeToken, encodeToken } from '../filters';
import { INSTANCE_TYPES, type TypeSpec } from '../instance-types';
import { type InstanceRec, STATE_CODES, tagSpecs } from './records';
import type { Ec2State } from './state';

export function RunInstances(s: Ec2State, input: RunInstancesRequest): Reservation {
  if (input.ClientToken) {
    const reservationId = s.runTokens.get(input.ClientToken);
    if (reservationId) return reservation(s, reservationId);
  }
  if (!input.ImageId) throw regionError('MissingParameter', 'The request must contain the parameter ImageId');
  if (input.MinCount === undefined || input.MaxCount === undefined) {
    throw regionError('MissingParameter', 'The request must contain the parameters MinCount and MaxCount');
  }
  if (input.MinCount < 1 || input.MaxCount < input.MinCount) {
    throw regionError('InvalidParameterValue', 'MinCount must be at least 1 and not greater than MaxCount');
  }
  const type = input.InstanceType ?? 't3.micro';
  const spec = s.typeSpec(type);
  const tags = tagSpecs(input.TagSpecifications, ['instance', 'network-interface', 'volume']);
  const nicSpecs = input.NetworkInterfaces ?? [];
  if (nicSpecs.length > 0 && (input.SubnetId || input.PrivateIpAddress || input.SecurityGroupIds)) {
    throw regionError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID, private IP or security groups may not be specified on ' +
        'the same request',
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
    throw regionError('InvalidParameterValue', 'A network interface at device index 0 is required');
  if (wanted.length > spec.maxEnis)
    throw regionError('AttachmentLimitExceeded', `Interface count ${wanted.length} exceeds the limit for ${type}`);
  const devices = new Set<number>();
  for (const n of wanted) {
    if (n.NetworkInterfaceId)
      throw regionError(
        'InvalidParameterValue',
        'Attaching existing network interfaces at launch is not modelled by the local region',
      );
    if (n.DeviceIndex === undefined || devices.has(n.DeviceIndex))
      throw regionError('InvalidParameterValue', 'Each network interface needs a distinct DeviceIndex');
    devices.add(n.DeviceIndex);
    if (1 + (n.SecondaryPrivateIpAddressCount ?? 0) > spec.ipv4PerEni) {
      throw regionError('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
    }
    if (n.PrivateIpAddress && input.MaxCount > 1)
      throw regionError(
        'InvalidParameterCombination',
        'A private IP address cannot be given when launching more than one instance',
      );
  }
  const primarySubnet = s.subnet(wanted.find((n) => n.DeviceIndex === 0)?.SubnetId);
  const nics = wanted
    .map((n) => {
      const subnet = s.subnet(n.SubnetId ?? primarySubnet.id);
      if (subnet.az !== primarySubnet.az)
        throw regionError('InvalidParameterValue', 'All network interfaces must be in the same Availability Zone');
      if (n.PrivateIpAddress) {
        s.checkIpInSubnet(subnet, n.PrivateIpAddress);
        if (s.ipOwner.has(n.PrivateIpAddress))
          throw regionError('InvalidIPAddress.InUse', `Address ${n.PrivateIpAddress} is in use.`);
      }
      return { subnet, spec: n, groups: s.checkGroups(n.Groups) };
    })
    .sort((a, b) => (a.spec.DeviceIndex ?? 0) - (b.spec.DeviceIndex ?? 0));
  const reservationId = `r-${s.ctx.rng.hex(17)}`;
  const now = s.ctx.now();
  for (let index = 0; index < input.MaxCount; index++) {
    const inst: InstanceRec = {
      id: `i-${s.ctx.rng.hex(17)}`,
      reservationId,
      type,
      imageId: input.ImageId,
      subnetId: primarySubnet.id,
      groups: nics[0]?.groups ?? [s.defaultGroupId],
      state: 'pending',
      launchTime: new Date(now),
      launchIndex: index,
      tags: new Map(tags.get('instance') ?? []),
      tagVersion: 0,
      longestRunMs: 0,
      clientToken: input.ClientToken,
      keyName: input.KeyName,
      transitionReason: '',
      position: s.order.length,
    };
    for (const nic of nics) {
      const count = 1 + (nic.spec.SecondaryPrivateIpAddressCount ?? 0);
      const ips = nic.spec.PrivateIpAddress
        ? [nic.spec.PrivateIpAddress, ...s.freeIps(nic.subnet, count - 1, new Set([nic.spec.PrivateIpAddress]))]
        : s.freeIps(nic.subnet, count);
      const eni = s.newEni(
        nic.subnet,
        ips,
        nic.groups,
        nic.spec.Description ?? '',
        new Map(tags.get('network-interface') ?? []),
      );
      s.setAttachment(eni, {
        id: `eni-attach-${s.ctx.rng.hex(17)}`,
        instanceId: inst.id,
        deviceIndex: nic.spec.DeviceIndex ?? 0,
        // Interfaces created by RunInstances default to DeleteOnTermination=true.
        deleteOnTermination: nic.spec.DeleteOnTermination ?? true,
        time: new Date(now),
      });
    }
    s.instances.set(inst.id, inst);
    s.order.push(inst.id);
    const members = s.reservations.get(reservationId) ?? [];
    members.push(inst.id);
    s.reservations.set(reservationId, members);
    time.enter(s, inst, 'pending');
  }
  if (input.ClientToken) s.runTokens.set(input.ClientToken, reservationId);
  return reservation(s, reservationId);
}

function reservation(s: Ec2State, reservationId: string): Reservation {
  const instances = (s.reservations.get(reservationId) ?? []).flatMap((id) => s.instances.get(id) ?? []);
  return {
    ReservationId: reservationId,
    OwnerId: s.ctx.account,
    Groups: [],
    Instances: instances.map((i) => shapes.describeInstance(s, i)),
  };
}

export function DescribeInstances(s: Ec2State, input: DescribeInstancesRequest): DescribeInstancesResult {
  const max = checkMaxResults(input.MaxResults, 5, 1000);
  if (max !== undefined && input.InstanceIds && input.InstanceIds.length > 0) {
    throw regionError(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  const predicate = compileFilters(input.Filters, readers.readersOf(s).instance, (i) => i.tags);
  let candidates: InstanceRec[];
  let start = decodeToken(input.NextToken);
  if (input.InstanceIds && input.InstanceIds.length > 0) {
    candidates = s.instancesFor(input.InstanceIds);
    start = 0;
  } else {
    candidates = [];
    for (const id of s.order) {
      const inst = s.visible(id);
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
      r = { ReservationId: inst.reservationId, OwnerId: s.ctx.account, Groups: [], Instances: [] };
      reservations.set(inst.reservationId, r);
    }
    r.Instances?.push(shapes.describeInstance(s, inst));
  }
  return {
    Reservations: [...reservations.values()],
    NextToken: max !== undefined && position < candidates.length ? encodeToken(position) : undefined,
  };
}

function transition(s: Ec2State, ids: string[] | undefined, apply: (inst: InstanceRec) => void): InstanceStateChange[] {
  const list = s.instancesFor(ids);
  const before = list.map((i) => i.state);
  for (const inst of list) apply(inst);
  return list.map((inst, k) => ({
    InstanceId: inst.id,
    PreviousState: { Code: STATE_CODES[before[k] as InstanceStateName], Name: before[k] },
    CurrentState: { Code: STATE_CODES[inst.state], Name: inst.state },
  }));
}

export function TerminateInstances(s: Ec2State, input: TerminateInstancesRequest): TerminateInstancesResult {
  return {
    TerminatingInstances: transition(s, input.InstanceIds, (inst) => {
      if (inst.state === 'terminated' || inst.state === 'shutting-down') return;
      inst.next = undefined;
      s.transitioning.delete(inst.id);
      time.enter(s, inst, 'shutting-down');
    }),
  };
}

export function StopInstances(s: Ec2State, input: StopInstancesRequest): StopInstancesResult {
  for (const inst of s.instancesFor(input.InstanceIds)) {
    if (inst.state === 'pending' || inst.state === 'shutting-down' || inst.state === 'terminated') {
      throw regionError(
        'IncorrectInstanceState',
        `This instance '${inst.id}' is not in a state from which it can be stopped.`,
      );
    }
  }
  return {
    StoppingInstances: transition(s, input.InstanceIds, (inst) => {
      if (inst.state === 'running') time.enter(s, inst, 'stopping');
    }),
  };
}

export function StartInstances(s: Ec2State, input: StartInstancesRequest): StartInstancesResult {
  for (const inst of s.instancesFor(input.InstanceIds)) {
    if (inst.state === 'stopping' || inst.state === 'shutting-down' || inst.state === 'terminated') {
      throw regionError(
        'IncorrectInstanceState',
        `The instance '${inst.id}' is not in a state from which it can be started.`,
      );
    }
  }
  return {
    StartingInstances: transition(s, input.InstanceIds, (inst) => {
      if (inst.state === 'stopped') time.enter(s, inst, 'pending');
    }),
  };
}

export function DescribeInstanceTypes(_s: Ec2State, input: DescribeInstanceTypesRequest): DescribeInstanceTypesResult {
  const max = checkMaxResults(input.MaxResults, 5, 100);
  const names =
    input.InstanceTypes && input.InstanceTypes.length > 0 ? [...input.InstanceTypes] : Object.keys(INSTANCE_TYPES);
  const unknown = names.filter((n) => !INSTANCE_TYPES[n]);
  if (unknown.length > 0) {
    throw regionError(
      'InvalidInstanceType',
      `The following supplied instance types do not exist: [${unknown.join(', ')}]`,
    );
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
        MaximumNetworkCards: s.networkCards ?? 1,
        DefaultNetworkCardIndex: 0,
        NetworkCards: Array.from({ length: s.networkCards ?? 1 }, (_, NetworkCardIndex) => ({
          NetworkCardIndex,
          NetworkPerformance: s.networkPerformance,
          MaximumNetworkInterfaces: s.maxEnis / (s.networkCards ?? 1),
        })),
        Ipv4AddressesPerInterface: s.ipv4PerEni,
        Ipv6AddressesPerInterface: s.ipv6PerEni,
        Ipv6Supported: true,
        EnaSupport: 'required',
      },
    };
  });
  return { InstanceTypes: info, NextToken: end < matching.length ? encodeToken(end) : undefined };
}

export function DescribeAccountAttributes(
  s: Ec2State,
  input: DescribeAccountAttributesRequest,
): DescribeAccountAttributesResult {
  const all: Record<string, string[]> = {
    'supported-platforms': ['VPC'],
    'default-vpc': [s.vpcId],
    'max-instances': ['20'],
    'vpc-max-security-groups-per-interface': ['5'],
    'max-elastic-ips': ['5'],
    'vpc-max-elastic-ips': [String(s.opts.eipQuota)],
  };
  const names = input.AttributeNames && input.AttributeNames.length > 0 ? [...input.AttributeNames] : Object.keys(all);
  const attributes: AccountAttribute[] = names.map((name) => {
    const values = all[name];
    if (!values)
      throw regionError(
        'InvalidParameterValue',
        `Value (${name}) for parameter attributeName is invalid. Unknown attribute.`,
      );
    return { AttributeName: name, AttributeValues: values.map((AttributeValue) => ({ AttributeValue })) };
  });
  return { AccountAttributes: attributes };
}
