/**
 * The demo's story as assertions (local/story.ts, the same steps `npm run demo` prints), with every instance a VPC lab
 * guest: events → bus (the stack's rules) → intake → SQS FIFO → reconcile → EC2 + SSM over the wire → the real
 * guest-sync document in the guest → invocation events → command-status → status tag. Each EIP is checked from inside
 * the guest: the echo server must see it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '#local/deployment';
import { runStory, type StoryResult } from '#local/story';
import { describeLab } from '../helpers/lab-gate';

describeLab('Story: a t3.micro tagged eip-count 3 → 4 → 5 → 1 → terminated, guests in the VPC lab', () => {
  let d: Deployment;
  let story: StoryResult;

  beforeAll(async () => {
    d = await startDeployment({ guests: 'lab' });
    story = await runStory(d);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('meets every step expectation', () => {
    expect(story.steps.map((s) => [s.title, s.problems])).toEqual(story.steps.map((s) => [s.title, []]));
  });

  it('3: one EIP per private IP, the third on a second ENI, each egressing as its EIP from its own device', () => {
    const [three] = story.steps;
    expect(three?.status).toBe('ok 3/3');
    expect(three?.rows.map((r) => [r.deviceIndex, r.guestDevice])).toEqual([
      [0, 'eth0'],
      [0, 'eth0'],
      [1, 'eth1'],
    ]);
    for (const r of three?.rows ?? []) expect(r.egress).toBe(r.publicIp);
  });

  it('4: the second ENI carries two EIPs and both egress through it (source routing)', () => {
    const four = story.steps[1];
    expect(four?.rows.filter((r) => r.guestDevice === 'eth1').map((r) => r.egress)).toEqual(
      four?.rows.filter((r) => r.deviceIndex === 1).map((r) => r.publicIp),
    );
    expect(four?.ec2Writes.sort()).toEqual(['AllocateAddress', 'AssignPrivateIpAddresses', 'AssociateAddress']);
  });

  it('5: an error status naming the capacity, no EC2 write, the 4 EIPs still egress', () => {
    const five = story.steps[2];
    expect(five?.status).toBe('error: eip-count 5 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4)');
    expect(five?.ec2Writes).toEqual([]);
    expect(five?.rows.map((r) => r.egress)).toEqual(story.steps[1]?.rows.map((r) => r.publicIp));
  });

  it('1 then terminate: one EIP on the primary IP, then no owned address left and no failed delivery', async () => {
    expect(story.steps[3]?.rows).toHaveLength(1);
    expect(story.steps[3]?.rows[0]?.guestDevice).toBe('eth0');
    expect(await d.ownedAddresses()).toEqual([]);
    expect(d.bus.deliveries.filter((x) => !x.ok)).toEqual([]);
    expect(d.deadLetters.counts()).toEqual({ visible: 0, inFlight: 0 });
  });
});
