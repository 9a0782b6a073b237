/**
 * What events cannot promise, end to end: duplicated and concurrent events, a missed event, a stop/start. Real
 * handlers over the wire, the stack's rules and queue settings, EC2's API rate limits, every instance a VPC lab guest.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AddressRow, type Deployment, startDeployment, type Trace } from '#local/deployment';
import { ec2Changes } from '#local/region/calls';
import { describeLab } from '../helpers/lab-gate';

const pairs = (rows: AddressRow[]) => rows.map((r) => `${r.publicIp}>${r.privateIp}@${r.eniId}`);

describeLab('End to end: duplicates, a missed event, stop/start', () => {
  let d: Deployment;
  const traces: Trace[] = [];

  beforeAll(async () => {
    // EC2's API rate limits on (AWS's default buckets): the reconciler's limiter and retries run as deployed.
    d = await startDeployment({ guests: 'lab', eipQuota: 20, rateLimits: {} });
    d.onTrace((t) => traces.push(t));
  });
  afterAll(async () => {
    await d?.close();
  });

  const stateOf = async (id: string) =>
    (await d.region.ec2('DescribeInstances', { InstanceIds: [id] })).Reservations?.[0]?.Instances?.[0]?.State?.Name;
  const ec2WritesSince = (mark: number) => ec2Changes(d.region.calls.slice(mark));
  const expectEgress = (rows: AddressRow[]) =>
    expect(rows.map((r) => [r.guestDevice !== '', r.egress])).toEqual(rows.map((r) => [true, r.publicIp]));

  it('50 duplicate and concurrent events for one instance: exactly 3 EIPs, 0 leaked, one allocation each', async () => {
    // Launch with every event dropped, so that only the 50 events below drive the instance.
    d.setDropWhen(() => true);
    const id = await d.launch('t3.micro', { 'eip-count': '3' });
    await d.settle(async () => (await stateOf(id)) === 'running', { what: 'a running instance' });
    d.setDropWhen(undefined);
    const running = d.bus.dropped.find((e) => e.detail['instance-id'] === id && e.detail.state === 'running');
    expect(running).toBeDefined();
    const mark = d.region.calls.length;
    const received = () =>
      traces.filter((t) => t.kind === 'log' && t.message === 'job received' && t.data.instanceId === id).length;

    // 25 redeliveries of one event (EventBridge is at-least-once) and 25 distinct events, all in the same tick.
    for (let k = 0; k < 25; k++) d.bus.put(structuredClone(running as NonNullable<typeof running>));
    for (let k = 0; k < 25; k++)
      d.bus.put({ ...structuredClone(running as NonNullable<typeof running>), id: randomUUID() });
    await d.settle(async () => (await d.statusOf(id)) === 'ok 3/3', { what: 'ok 3/3' });

    const owned = await d.ownedAddresses(id);
    expect(owned).toHaveLength(3);
    expect(owned.filter((a) => !a.associated)).toEqual([]);
    const writes = ec2WritesSince(mark);
    expect(writes.filter((w) => w === 'AllocateAddress')).toHaveLength(3);
    expect(writes.filter((w) => /Release|Disassociate|Unassign|Delete/.test(w))).toEqual([]);
    // SQS FIFO dropped the 24 duplicates by MessageDeduplicationId (the event id): 26 jobs, one at a time.
    expect(received()).toBe(26);
    // One guest sync for the cloud change; jobs that ran while it was unconfirmed (`syncing`) may re-send it.
    const syncs = traces.filter(
      (t) =>
        t.kind === 'log' && t.message === 'action executed' && t.data.kind === 'sync-guest' && t.data.instanceId === id,
    );
    expect(syncs.filter((t) => t.kind === 'log' && t.data.reason === 'cloud-changed')).toHaveLength(1);
    expectEgress(await d.addresses(id));
    await d.terminate(id);
    await d.settle(async () => (await d.ownedAddresses(id)).length === 0, { what: 'every address released' });
  });

  it('a tag change the bus dropped is repaired by the next sweep', async () => {
    const id = await d.launch('t3.micro', { 'eip-count': '1' });
    await d.settle(async () => (await d.statusOf(id)) === 'ok 1/1', { what: 'ok 1/1' });
    d.setDropWhen((e) => e['detail-type'] === 'Tag Change on Resource');
    await d.setTags(id, { 'eip-count': '3' });
    await d.settle();
    d.setDropWhen(undefined);
    expect(d.bus.dropped.at(-1)?.detail['changed-tag-keys']).toEqual(['eip-count']);
    expect(await d.addresses(id, { verify: false })).toHaveLength(1);

    d.fireSweep();
    await d.settle(async () => (await d.statusOf(id)) === 'ok 3/3', { what: 'ok 3/3 after the sweep' });
    expect(traces.some((t) => t.kind === 'log' && t.message === 'drift found' && t.data.instanceId === id)).toBe(true);
    const rows = await d.addresses(id);
    expect(rows).toHaveLength(3);
    expectEgress(rows);
    await d.terminate(id);
    await d.settle(async () => (await d.ownedAddresses(id)).length === 0, { what: 'every address released' });
  });

  it(
    'stop/start keeps the same EIPs on the same private IPs (default eip-on-stop=keep), with no EC2 ' + 'write',
    async () => {
      const id = await d.launch('t3.micro', { 'eip-count': '3' });
      await d.settle(async () => (await d.statusOf(id)) === 'ok 3/3', { what: 'ok 3/3' });
      const before = await d.addresses(id, { verify: false });
      const mark = d.region.calls.length;

      await d.stop(id);
      await d.settle(async () => (await stateOf(id)) === 'stopped', { what: 'a stopped instance' });
      await d.settle();
      expect(pairs(await d.addresses(id, { verify: false }))).toEqual(pairs(before));
      await d.start(id);
      await d.settle(async () => (await stateOf(id)) === 'running', { what: 'a running instance' });
      await d.settle();

      expect(ec2WritesSince(mark)).toEqual(['StopInstances', 'StartInstances']);
      const after = await d.addresses(id);
      expect(pairs(after)).toEqual(pairs(before));
      expectEgress(after);
      expect(await d.statusOf(id)).toBe('ok 3/3');
      expect(d.deadLetters.counts()).toEqual({ visible: 0, inFlight: 0 });
    },
  );
});
