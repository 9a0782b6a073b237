import { describe, expect, it } from 'vitest';
import { toActual } from '#src/reconcile/observe';

describe('Function: toActual', () => {
  it('orders ENIs by device index and IPs primary first, and spots non-EIP public IPs', () => {
    const actual = toActual(
      'i-1',
      {
        InstanceId: 'i-1',
        State: { Name: 'running' },
        InstanceType: 't3.medium',
        NetworkInterfaces: [
          {
            NetworkInterfaceId: 'eni-b',
            Description: 'eip-autopilot managed ENI for i-1 device 1',
            Attachment: { DeviceIndex: 1, AttachmentId: 'a-b' },
            PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.1.5' }],
          },
          {
            NetworkInterfaceId: 'eni-a',
            SubnetId: 'subnet-1',
            Groups: [{ GroupId: 'sg-1' }],
            Attachment: { DeviceIndex: 0, AttachmentId: 'a-a' },
            PrivateIpAddresses: [
              { Primary: false, PrivateIpAddress: '10.0.0.100' },
              {
                Primary: false,
                PrivateIpAddress: '10.0.0.20',
                Association: { PublicIp: '3.3.3.3', IpOwnerId: 'amazon' },
              },
              {
                Primary: true,
                PrivateIpAddress: '10.0.0.9',
                Association: { PublicIp: '5.5.5.5', IpOwnerId: '999999999999' },
              },
            ],
          },
        ],
      },
      [],
    );
    expect(actual.enis.map((e) => [e.eniId, e.managed, e.privateIps, e.ipsWithForeignPublicIp])).toEqual([
      ['eni-a', false, ['10.0.0.9', '10.0.0.20', '10.0.0.100'], ['10.0.0.9']],
      ['eni-b', true, ['10.0.1.5'], []],
    ]);
    expect(actual).toMatchObject({ exists: true, subnetId: 'subnet-1', securityGroupIds: ['sg-1'] });
  });

  // Several network cards (p4d, p5, …): device 0 exists once per card, and the primary ENI is card 0, device 0.
  // EFA-only and trunk interfaces carry no IPv4 for us: no address goes there, but they hold their device index.
  it('takes card 0 device 0 as the primary and gives EFA-only and trunk interfaces no addresses', () => {
    const actual = toActual(
      'i-1',
      {
        InstanceId: 'i-1',
        State: { Name: 'running' },
        InstanceType: 'p4d.24xlarge',
        NetworkInterfaces: [
          {
            NetworkInterfaceId: 'eni-card1',
            SubnetId: 'subnet-2',
            Groups: [{ GroupId: 'sg-2' }],
            Attachment: { DeviceIndex: 0, NetworkCardIndex: 1, AttachmentId: 'a-c1' },
            PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.2.5' }],
          },
          {
            NetworkInterfaceId: 'eni-efa',
            InterfaceType: 'efa-only',
            Attachment: { DeviceIndex: 1, NetworkCardIndex: 0, AttachmentId: 'a-efa' },
            PrivateIpAddresses: [],
          },
          {
            NetworkInterfaceId: 'eni-trunk',
            InterfaceType: 'trunk',
            Attachment: { DeviceIndex: 2, NetworkCardIndex: 0, AttachmentId: 'a-trunk' },
            PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.0.50' }],
          },
          {
            NetworkInterfaceId: 'eni-primary',
            SubnetId: 'subnet-1',
            Groups: [{ GroupId: 'sg-1' }],
            Attachment: { DeviceIndex: 0, NetworkCardIndex: 0, AttachmentId: 'a-p' },
            PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: '10.0.0.9' }],
          },
        ],
      },
      [],
    );
    expect(actual.enis.map((e) => [e.eniId, e.networkCardIndex, e.deviceIndex, e.privateIps])).toEqual([
      ['eni-primary', 0, 0, ['10.0.0.9']],
      ['eni-efa', 0, 1, []],
      ['eni-trunk', 0, 2, []],
      ['eni-card1', 1, 0, ['10.0.2.5']],
    ]);
    expect(actual).toMatchObject({ subnetId: 'subnet-1', securityGroupIds: ['sg-1'] });
  });

  it('marks a missing instance', () => {
    expect(toActual('i-1', undefined, [])).toMatchObject({ exists: false, enis: [], state: undefined });
  });
});
