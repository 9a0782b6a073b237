import type { ActualState, AddressView, EniView } from '#src/reconcile/observe';

/** Builders for planner inputs: small, explicit, deterministic. */
export const ID = 'i-0abcd1234ef567890';

export function eni(deviceIndex: number, privateIps: string[], extra: Partial<EniView> = {}): EniView {
  return {
    eniId: `eni-${deviceIndex}`,
    deviceIndex,
    networkCardIndex: 0,
    attachmentId: `attach-${deviceIndex}`,
    managed: deviceIndex > 0,
    subnetId: 'subnet-1',
    privateIps,
    ipsWithForeignPublicIp: [],
    ...extra,
  };
}

let seq = 0;
export function address(extra: Partial<AddressView> = {}): AddressView {
  seq++;
  return {
    allocationId: `eipalloc-${String(seq).padStart(3, '0')}`,
    publicIp: `203.0.113.${seq}`,
    associationId: undefined,
    eniId: undefined,
    privateIp: undefined,
    managed: true,
    instanceTag: ID,
    pool: undefined,
    // A marked address without a recorded IP carries the tag value of versions that did not record it.
    assignedIpTag: undefined,
    ...extra,
  };
}

/** An owned address associated with `privateIp` on `eniId`. */
export function placedAt(eniId: string, privateIp: string, extra: Partial<AddressView> = {}): AddressView {
  const a = address(extra);
  return { ...a, associationId: `eipassoc-${a.allocationId.slice(9)}`, eniId, privateIp, ...extra };
}

export function actual(extra: Partial<ActualState> = {}): ActualState {
  return {
    instanceId: ID,
    exists: true,
    state: 'running',
    instanceType: 't3.medium',
    subnetId: 'subnet-1',
    securityGroupIds: ['sg-1'],
    tags: {},
    enis: [eni(0, ['10.0.0.10'])],
    addresses: [],
    ...extra,
  };
}
