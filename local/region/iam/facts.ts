/**
 * {@link ResourceFacts} read from the region model: the current tags, owners and relations of the resources a call
 * names, looked up through the model's own Describe methods (not through `region.ec2`, so that evaluation adds no
 * entry to the call log and draws no throttling or latency).
 */
import type { Region } from '../model/index';
import type { ResourceFacts, Tags } from './requests';

const tagsOf = (list: { Key?: string; Value?: string }[] | undefined): Tags =>
  Object.fromEntries((list ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** Runs a model lookup; a resource the model does not know (any RegionError) is `undefined`. */
function lookup<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** The facts of `region`, read at evaluation time (so tags are the ones current when the call arrives). */
export function regionFacts(region: Region): ResourceFacts {
  const ec2 = region.model.ec2;
  const ssm = region.model.ssm;
  return {
    accountId: region.accountId,
    region: region.regionName,
    instance(id) {
      const inst = lookup(() => ec2.DescribeInstances({ InstanceIds: [id] }).Reservations?.[0]?.Instances?.[0]);
      return inst && { tags: tagsOf(inst.Tags), subnetId: inst.SubnetId };
    },
    address(by) {
      const filters = by.associationId
        ? [{ Name: 'association-id', Values: [by.associationId] }]
        : by.allocationId
          ? [{ Name: 'allocation-id', Values: [by.allocationId] }]
          : by.publicIp
            ? [{ Name: 'public-ip', Values: [by.publicIp] }]
            : undefined;
      if (!filters) return undefined;
      const a = lookup(() => ec2.DescribeAddresses({ Filters: filters }).Addresses?.[0]);
      if (!a?.AllocationId) return undefined;
      return {
        allocationId: a.AllocationId,
        publicIp: a.PublicIp ?? '',
        tags: tagsOf(a.Tags),
        networkInterfaceId: a.NetworkInterfaceId,
        instanceId: a.InstanceId,
      };
    },
    networkInterface(id) {
      const eni = lookup(() => ec2.DescribeNetworkInterfaces({ NetworkInterfaceIds: [id] }).NetworkInterfaces?.[0]);
      if (!eni) return undefined;
      return {
        tags: tagsOf(eni.TagSet),
        subnetId: eni.SubnetId ?? '',
        instanceId: eni.Attachment?.InstanceId,
        attachmentId: eni.Attachment?.AttachmentId,
        groups: (eni.Groups ?? []).map((g) => g.GroupId ?? ''),
      };
    },
    attachment(attachmentId) {
      const eni = lookup(
        () =>
          ec2.DescribeNetworkInterfaces({ Filters: [{ Name: 'attachment.attachment-id', Values: [attachmentId] }] })
            .NetworkInterfaces?.[0],
      );
      if (!eni?.NetworkInterfaceId || !eni.Attachment?.InstanceId) return undefined;
      return { networkInterfaceId: eni.NetworkInterfaceId, instanceId: eni.Attachment.InstanceId };
    },
    subnet(id) {
      const s = region.subnets().find((x) => x.SubnetId === id);
      return s && { ownerId: s.OwnerId ?? region.accountId, vpcId: s.VpcId, availabilityZone: s.AvailabilityZone };
    },
    securityGroup(id) {
      const g = region.securityGroups().find((x) => x.GroupId === id);
      return g && { ownerId: g.OwnerId, vpcId: g.VpcId };
    },
    document(name) {
      const d = lookup(() => ssm.DescribeDocument({ Name: name }).Document);
      return d && { ownerId: d.Owner ?? region.accountId, tags: tagsOf(d.Tags) };
    },
  };
}
