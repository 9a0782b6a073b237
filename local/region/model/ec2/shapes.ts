/** The SDK output shapes of instances, ENIs and addresses. */
import type { Address, Instance, InstanceNetworkInterface, NetworkInterface } from '@aws-sdk/client-ec2';
import { tagList } from '../filters';
import { type AddressRec, type EniRec, type InstanceRec, STATE_CODES } from './records';
import type { Ec2State } from './state';

export function describeEni(s: Ec2State, eni: EniRec): NetworkInterface {
  const subnet = s.subnet(eni.subnetId);
  const assocOf = (ip: string) => {
    const addr = s.eipAt(eni.id, ip);
    if (!addr?.association) return undefined;
    return {
      AllocationId: addr.allocationId,
      AssociationId: addr.association.id,
      IpOwnerId: s.ctx.account,
      PublicDnsName: s.publicDns(addr.publicIp),
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
          NetworkCardIndex: att.networkCardIndex ?? 0,
          InstanceId: att.instanceId,
          InstanceOwnerId: s.ctx.account,
          Status: 'attached',
        }
      : undefined,
    AvailabilityZone: subnet.az,
    Description: eni.description,
    Groups: eni.groups.map((GroupId) => ({ GroupId, GroupName: 'default' })),
    InterfaceType: (eni.interfaceType ?? 'interface') as NetworkInterface['InterfaceType'],
    MacAddress: eni.mac,
    OwnerId: s.ctx.account,
    PrivateDnsName: s.privateDns(primary),
    PrivateIpAddress: primary,
    PrivateIpAddresses: eni.ips.map((ip, i) => ({
      Association: assocOf(ip),
      Primary: i === 0,
      PrivateDnsName: s.privateDns(ip),
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

export function describeInstance(s: Ec2State, inst: InstanceRec): Instance {
  const subnet = s.subnet(inst.subnetId);
  const enis = s.enisOf(inst.id);
  // The primary ENI is device 0 of network card 0 (each card has a device 0).
  const primaryEni = enis.find((e) => e.attachment?.deviceIndex === 0 && !e.attachment.networkCardIndex);
  const primaryIp = primaryEni?.ips[0];
  const primaryEip = primaryEni && primaryIp ? s.eipAt(primaryEni.id, primaryIp) : undefined;
  const interfaces: InstanceNetworkInterface[] = enis.map((eni) => {
    const d = describeEni(s, eni);
    const instAssoc = (a: NetworkInterface['Association']) =>
      a ? { IpOwnerId: a.IpOwnerId, PublicDnsName: a.PublicDnsName, PublicIp: a.PublicIp } : undefined;
    return {
      Association: instAssoc(d.Association),
      Attachment: {
        AttachmentId: d.Attachment?.AttachmentId,
        AttachTime: d.Attachment?.AttachTime,
        DeleteOnTermination: d.Attachment?.DeleteOnTermination,
        DeviceIndex: d.Attachment?.DeviceIndex,
        NetworkCardIndex: d.Attachment?.NetworkCardIndex ?? 0,
        Status: 'attached',
      },
      Description: d.Description,
      Groups: d.Groups,
      InterfaceType: d.InterfaceType,
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
    PrivateDnsName: gone ? '' : primaryIp ? s.privateDns(primaryIp) : '',
    PrivateIpAddress: gone ? undefined : primaryIp,
    PublicDnsName: primaryEip ? s.publicDns(primaryEip.publicIp) : '',
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

export function describeAddress(s: Ec2State, addr: AddressRec): Address {
  const assoc = addr.association;
  const eni = assoc ? s.enis.get(assoc.eniId) : undefined;
  return {
    AllocationId: addr.allocationId,
    AssociationId: assoc?.id,
    Domain: 'vpc',
    InstanceId: eni?.attachment?.instanceId,
    NetworkBorderGroup: s.ctx.region,
    NetworkInterfaceId: assoc?.eniId,
    NetworkInterfaceOwnerId: assoc ? s.ctx.account : undefined,
    PrivateIpAddress: assoc?.privateIp,
    PublicIp: addr.publicIp,
    PublicIpv4Pool: 'amazon',
    Tags: tagList(addr.tags),
  };
}
