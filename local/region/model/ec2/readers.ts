/** DescribeX filter fields: how each filter name reads a record. */
import * as time from './time';
import type { FieldReader } from '../filters';
import { type AddressRec, type EniRec, type InstanceRec, STATE_CODES } from './records';
import type { Ec2State } from './state';

function instanceReaders(s: Ec2State): Record<string, FieldReader<InstanceRec>> {
  return {
    'instance-id': (i) => i.id,
    'instance-state-name': (i) => i.state,
    'instance-state-code': (i) => String(STATE_CODES[i.state]),
    'instance-type': (i) => i.type,
    'image-id': (i) => i.imageId,
    'reservation-id': (i) => i.reservationId,
    'client-token': (i) => i.clientToken,
    'subnet-id': (i) => i.subnetId,
    'vpc-id': () => s.vpcId,
    'availability-zone': (i) => s.subnets.get(i.subnetId)?.az,
    'private-ip-address': (i) => time.primaryIp(s, i.id),
    'ip-address': (i) => {
      const eni = s.enisOf(i.id).find((e) => e.attachment?.deviceIndex === 0 && !e.attachment.networkCardIndex);
      return eni?.ips[0] ? s.eipAt(eni.id, eni.ips[0])?.publicIp : undefined;
    },
    'network-interface.network-interface-id': (i) => s.enisOf(i.id).map((e) => e.id),
    'network-interface.addresses.private-ip-address': (i) => s.enisOf(i.id).flatMap((e) => e.ips),
    'network-interface.addresses.association.public-ip': (i) =>
      s.enisOf(i.id).flatMap((e) => e.ips.map((ip) => s.eipAt(e.id, ip)?.publicIp)),
  };
}

function eniReaders(s: Ec2State): Record<string, FieldReader<EniRec>> {
  return {
    'network-interface-id': (e) => e.id,
    'attachment.instance-id': (e) => e.attachment?.instanceId,
    'attachment.attachment-id': (e) => e.attachment?.id,
    'attachment.device-index': (e) => (e.attachment ? String(e.attachment.deviceIndex) : undefined),
    'attachment.status': (e) => (e.attachment ? 'attached' : undefined),
    'attachment.delete-on-termination': (e) => (e.attachment ? String(e.attachment.deleteOnTermination) : undefined),
    'subnet-id': (e) => e.subnetId,
    'vpc-id': () => s.vpcId,
    'availability-zone': (e) => s.subnets.get(e.subnetId)?.az,
    status: (e) => (e.attachment ? 'in-use' : 'available'),
    'private-ip-address': (e) => e.ips,
    'addresses.private-ip-address': (e) => e.ips,
    'association.allocation-id': (e) => e.ips.map((ip) => s.eipAt(e.id, ip)?.allocationId),
    'association.association-id': (e) => e.ips.map((ip) => s.eipAt(e.id, ip)?.association?.id),
    'association.public-ip': (e) => e.ips.map((ip) => s.eipAt(e.id, ip)?.publicIp),
    description: (e) => e.description,
    'mac-address': (e) => e.mac,
    'group-id': (e) => e.groups,
    'owner-id': () => s.ctx.account,
    'requester-managed': () => 'false',
    'source-dest-check': (e) => String(e.sourceDestCheck),
    'interface-type': () => 'interface',
  };
}

function addressReaders(s: Ec2State): Record<string, FieldReader<AddressRec>> {
  return {
    'allocation-id': (a) => a.allocationId,
    'association-id': (a) => a.association?.id,
    domain: () => 'vpc',
    'instance-id': (a) => (a.association ? s.enis.get(a.association.eniId)?.attachment?.instanceId : undefined),
    'network-interface-id': (a) => a.association?.eniId,
    'network-interface-owner-id': (a) => (a.association ? s.ctx.account : undefined),
    'private-ip-address': (a) => a.association?.privateIp,
    'public-ip': (a) => a.publicIp,
    'public-ipv4-pool': () => 'amazon',
    'network-border-group': () => s.ctx.region,
  };
}

/** The filter readers of one model, built once (the 10,000-instance sweep filters every describe). */
export interface Readers {
  instance: Record<string, FieldReader<InstanceRec>>;
  eni: Record<string, FieldReader<EniRec>>;
  address: Record<string, FieldReader<AddressRec>>;
}

const cache = new WeakMap<Ec2State, Readers>();

/** The readers of `s`'s records. */
export function readersOf(s: Ec2State): Readers {
  let readers = cache.get(s);
  if (!readers) {
    readers = { instance: instanceReaders(s), eni: eniReaders(s), address: addressReaders(s) };
    cache.set(s, readers);
  }
  return readers;
}
