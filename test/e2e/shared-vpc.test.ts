/**
 * A VPC shared through RAM (issue 10, item 4): the subnets and the security group belong to the VPC owner's account,
 * the instance and everything eip-autopilot creates to ours. Under the packaged roles, reconcile must still create
 * the second ENI in the instance's (foreign) subnet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '#local/deployment';

const VPC_OWNER = '210987654321';

describe('IAM: an instance in a shared VPC', () => {
  let d: Deployment;

  beforeAll(async () => {
    d = await startDeployment({ guests: 'none', vpcOwnerId: VPC_OWNER });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('gets its second ENI in the owner account subnet, allowed by the reconcile role', async () => {
    expect(d.region.subnets().map((s) => s.OwnerId)).toEqual([VPC_OWNER, VPC_OWNER]);
    // t3.micro, eip-count=3: 2 addresses on the primary ENI, the third needs a new ENI in the shared subnet.
    const id = await d.launch('t3.micro', { 'eip-count': '3' });
    await d.settle(async () => (await d.statusOf(id)) === 'ok 3/3', { what: 'ok 3/3' });
    const created = (d.iam?.decisions ?? []).filter((x) => x.action === 'CreateNetworkInterface');
    // One check each for the new ENI, the subnet, the security group and the tags applied at creation.
    expect(created).toEqual([
      { functionKey: 'reconcile', service: 'ec2', action: 'CreateNetworkInterface', checks: 4, allowed: true },
    ]);
    expect((await d.addresses(id)).map((r) => r.deviceIndex)).toEqual([0, 0, 1]);
  });
});
