import { DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ec2Adapter } from '#src/aws/ec2-port';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

describe('Function: ec2Adapter', () => {
  describe('Method: describeNetworkInterfaces', () => {
    // EC2 filters each page after reading it: a filtered describe can answer an empty page with a NextToken.
    it('follows NextToken past empty filtered pages', async () => {
      ec2Mock
        .on(DescribeNetworkInterfacesCommand)
        .resolvesOnce({ NetworkInterfaces: [], NextToken: 't1' })
        .resolvesOnce({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1' }], NextToken: 't2' })
        .resolvesOnce({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-2' }] });
      const port = ec2Adapter(new EC2Client({ region: 'us-east-1' }));
      const enis = await port.describeNetworkInterfaces([{ Name: 'status', Values: ['available'] }]);
      expect(enis.map((e) => e.NetworkInterfaceId)).toEqual(['eni-1', 'eni-2']);
      const inputs = ec2Mock.commandCalls(DescribeNetworkInterfacesCommand).map((c) => c.args[0].input.NextToken);
      expect(inputs).toEqual([undefined, 't1', 't2']);
    });

    // 10 pages of 1000 scanned; what lies beyond is found by a later run (an unattached ENI costs no money).
    it('stops after a bounded number of pages with what it found', async () => {
      ec2Mock
        .on(DescribeNetworkInterfacesCommand)
        .resolvesOnce({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1' }], NextToken: 'again' })
        .resolves({ NetworkInterfaces: [], NextToken: 'again' });
      const port = ec2Adapter(new EC2Client({ region: 'us-east-1' }));
      const enis = await port.describeNetworkInterfaces([{ Name: 'status', Values: ['available'] }]);
      expect(enis.map((e) => e.NetworkInterfaceId)).toEqual(['eni-1']);
      expect(ec2Mock.commandCalls(DescribeNetworkInterfacesCommand)).toHaveLength(10);
    });
  });
});
