import { describe, expect, it } from 'vitest';
import { clearCaches, type ReconcileDeps, reconcileInstance } from '#src/reconcile/reconcile';
import { manualClock } from '#local/region/model/index';
import { DOCUMENT, killAfter, throttleAt, type World } from '#local/world';
import { recordGuestResult } from '#src/reconcile/guest-status';
import { worldsPerTest } from '../helpers/worlds';

const makeWorld = worldsPerTest();
let world: World | undefined;

async function converge(w: World, id: string) {
  const first = await reconcileInstance(id, w.deps);
  await w.settleGuest();
  return first;
}

async function ownedOn(w: World, id: string) {
  const all = await w.deps.ec2.describeAddresses([{ Name: 'tag:eip-autopilot:instance-id', Values: [id] }]);
  return all;
}

describe('Function: reconcileInstance (on the region model)', () => {
  // Most instances of a Region are not ours, and a state change carries no tags: such a job must cost one
  // DescribeInstances and nothing else.
  it('stops after DescribeInstances for an instance with neither the count tag nor our status tag', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', { Name: 'web' });
    world.mark();
    const outcome = await reconcileInstance(id, world.deps, { skipUntagged: true });
    expect(world.since()).toEqual({ reads: ['DescribeInstances'], writes: [] });
    expect(outcome).toMatchObject({ state: 'running', placed: 0, wanted: 0, status: undefined, retryLater: undefined });
  });

  it.each([
    ['the count tag', { 'eip-count': '1' }],
    ['only our status tag (count tag removed)', { 'eip-autopilot:status': 'ok 1/1' }],
  ])('reads addresses for an instance carrying %s', async (_what, tags) => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', tags);
    world.mark();
    await reconcileInstance(id, world.deps, { skipUntagged: true });
    expect(world.since().reads).toContain('DescribeAddresses');
  });

  // EC2 serves unfiltered, unpaginated describes from a smaller bucket (50 tokens, 10/s, vs 100/20).
  it('reads addresses with a filter, never from the unfiltered bucket', async () => {
    world = await makeWorld({ rateLimits: {} });
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    await converge(world, id);
    await reconcileInstance(id, world.deps);
    const buckets = world.region.limits?.usage().map((u) => u.key) ?? [];
    expect(buckets).toContain('ec2:DescribeAddresses');
    expect(buckets).not.toContain('ec2:DescribeAddresses#unfiltered');
  });

  it('gives a fresh instance N EIPs, each on its own private IP, primary first', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '3' });
    const outcome = await converge(world, id);
    expect(outcome).toMatchObject({ placed: 3, wanted: 3, status: 'syncing 3/3', retryLater: undefined });
    const addrs = await ownedOn(world, id);
    const instance = await world.deps.ec2.describeInstance(id);
    const primaryIp = instance?.PrivateIpAddress;
    expect(new Set(addrs.map((a) => a.PrivateIpAddress)).size).toBe(3);
    expect(addrs.map((a) => a.PrivateIpAddress)).toContain(primaryIp);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('ok 3/3');
  });

  it('converges: the second run makes 2 reads and 0 writes', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '3' });
    await converge(world, id);
    world.mark();
    const second = await reconcileInstance(id, world.deps);
    expect(world.since()).toEqual({ reads: ['DescribeInstances', 'DescribeAddresses'], writes: [] });
    expect(second.results.map((o) => o.action.kind)).toEqual(['noop']);
  });

  it('uses at most 2N+5 EC2 calls on a fresh instance (type limits cached)', async () => {
    world = await makeWorld();
    const warm = await world.launch('t3.medium', { 'eip-count': '2' });
    await reconcileInstance(warm, world.deps);
    const id = await world.launch('t3.medium', { 'eip-count': '3' });
    world.mark();
    await reconcileInstance(id, world.deps);
    const { reads, writes } = world.since();
    expect(reads.length + writes.filter((w) => w !== 'SendCommand').length).toBeLessThanOrEqual(2 * 3 + 5);
  });

  it(
    'checks the quota before allocating beyond 5, once per container: N=8 warm uses at most 2N+5 EC2 ' + 'calls',
    async () => {
      world = await makeWorld({ eipQuota: 100 });
      const cold = await world.launch('m5.large', { 'eip-count': '8' });
      world.mark();
      await reconcileInstance(cold, world.deps);
      expect(world.since().reads).toEqual([
        'DescribeInstances',
        'DescribeAddresses',
        'DescribeAccountAttributes',
        'DescribeInstanceTypes',
      ]);
      const warm = await world.launch('m5.large', { 'eip-count': '8' });
      world.mark();
      const outcome = await reconcileInstance(warm, world.deps);
      const { reads, writes } = world.since();
      expect(outcome).toMatchObject({ placed: 8, wanted: 8, status: 'syncing 8/8' });
      expect(reads).toEqual(['DescribeInstances', 'DescribeAddresses']);
      expect(reads.length + writes.filter((w) => w !== 'SendCommand').length).toBeLessThanOrEqual(2 * 8 + 5);
    },
  );

  describe('killed after each write, then rerun', () => {
    /** What a killed run can leave: ENIs of ours attached to nothing, private IPs without an EIP. */
    async function leftovers(w: World, id: string) {
      const unattached = await w.deps.ec2.describeNetworkInterfaces([
        { Name: 'tag:eip-autopilot:instance-id', Values: [id] },
        { Name: 'status', Values: ['available'] },
      ]);
      const instance = await w.deps.ec2.describeInstance(id);
      const withEip = new Set(
        (await w.deps.ec2.describeAddresses()).map((a) => `${a.NetworkInterfaceId}/${a.PrivateIpAddress}`),
      );
      const bareIps = (instance?.NetworkInterfaces ?? []).flatMap((n) =>
        (n.PrivateIpAddresses ?? [])
          .filter((p) => !p.Primary && !withEip.has(`${n.NetworkInterfaceId}/${p.PrivateIpAddress}`))
          .map((p) => p.PrivateIpAddress),
      );
      return { unattachedEnis: unattached.length, ipsWithoutEip: bareIps.length, leakedEips: await w.leakedOwned() };
    }
    const clean = { unattachedEnis: 0, ipsWithoutEip: 0, leakedEips: 0 };

    /** Writes (EC2 only) of a clean run of `scenario`, to kill a fresh copy of it at each of them. */
    async function writesOf(scenario: (w: World) => Promise<string>) {
      const w = await makeWorld();
      const id = await scenario(w);
      w.mark();
      await reconcileInstance(id, w.deps);
      const writes = w.since().writes.filter((x) => x !== 'SendCommand');
      w.mocks.restore();
      clearCaches();
      return writes;
    }

    const fresh = async (w: World) => w.launch('t3.micro', { 'eip-count': '3' });
    const scaledDown = async (w: World) => {
      const id = await w.launch('t3.micro', { 'eip-count': '3' });
      await converge(w, id);
      await w.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '1' }] });
      return id;
    };

    it.each([
      ['fresh eip-count=3 on t3.micro (assign, create ENI, attach, allocate, associate)', fresh, 3],
      ['scale down 3 -> 1 on t3.micro (disassociate, unassign, release, detach, delete ENI)', scaledDown, 1],
    ])('%s: converges with no leaked EIP, no unattached ENI, no bare private IP', async (_name, scenario, n) => {
      const writes = await writesOf(scenario);
      expect(writes.length).toBeGreaterThanOrEqual(5);
      for (let k = 1; k <= writes.length; k++) {
        world = await makeWorld();
        const id = await scenario(world);
        const killed: ReconcileDeps = { ...world.deps, ec2: killAfter(world.deps.ec2, k) };
        await reconcileInstance(id, killed).catch(() => undefined);
        const rerun = await converge(world, id);
        const at = writes[k - 1];
        expect({ k, at, placed: rerun.placed }).toEqual({ k, at, placed: n });
        expect({ k, at, owned: (await ownedOn(world, id)).length }).toEqual({ k, at, owned: n });
        expect({ k, at, ...(await leftovers(world, id)) }).toEqual({ k, at, ...clean });
        world.mark();
        await reconcileInstance(id, world.deps);
        expect({ k, at, writes: world.since().writes }).toEqual({ k, at, writes: [] });
        // Scaling to 0 afterwards undoes everything: no secondary IP, no extra ENI is left behind as "not ours".
        if (n === 1) {
          await world.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '0' }] });
          await converge(world, id);
          const instance = await world.deps.ec2.describeInstance(id);
          expect({ k, at, ips: instance?.NetworkInterfaces?.map((e) => e.PrivateIpAddresses?.length) }).toEqual({
            k,
            at,
            ips: [1],
          });
        }
        world.mocks.restore();
        clearCaches();
      }
    });

    it.each([
      ['fresh eip-count=3 on t3.micro', fresh, 3],
      ['scale down 3 -> 1 on t3.micro', scaledDown, 1],
    ])(
      '%s, throttled at each write in turn: the rerun converges, nothing leaks, no address is allocated twice',
      async (_name, scenario, n) => {
        const writes = await writesOf(scenario);
        for (let k = 1; k <= writes.length; k++) {
          world = await makeWorld();
          const id = await scenario(world);
          const allocationsBefore = world.region.calls.filter((c) => c.action === 'AllocateAddress' && c.ok).length;
          const throttled: ReconcileDeps = { ...world.deps, ec2: throttleAt(world.deps.ec2, k) };
          await reconcileInstance(id, throttled).catch(() => undefined);
          await converge(world, id);
          const at = writes[k - 1];
          expect({ k, at, owned: (await ownedOn(world, id)).length }).toEqual({ k, at, owned: n });
          expect({ k, at, ...(await leftovers(world, id)) }).toEqual({ k, at, ...clean });
          const allocations = world.region.calls.filter((c) => c.action === 'AllocateAddress' && c.ok).length;
          // A throttled association keeps its address for the rerun: never released and allocated again.
          if (at === 'AssociateAddress')
            expect({ k, at, allocations: allocations - allocationsBefore }).toEqual({ k, at, allocations: n });
          world.mark();
          await reconcileInstance(id, world.deps);
          expect({ k, at, writes: world.since().writes }).toEqual({ k, at, writes: [] });
          world.mocks.restore();
          clearCaches();
        }
      },
    );

    it('deletes an ENI left unattached by a killed first run once it is seen (here: at termination)', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.micro', { 'eip-count': '3' });
      const writes = await writesOf(fresh);
      const k = writes.indexOf('AttachNetworkInterface') + 1;
      await reconcileInstance(id, { ...world.deps, ec2: killAfter(world.deps.ec2, k) }).catch(() => undefined);
      // The count drops before the retry: this run needs no ENI, has no status yet, so it does not look for one.
      await world.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '1' }] });
      await converge(world, id);
      expect((await leftovers(world, id)).unattachedEnis).toBe(1);
      await world.region.ec2('TerminateInstances', { InstanceIds: [id] });
      world.region.tick();
      await converge(world, id);
      expect((await leftovers(world, id)).unattachedEnis).toBe(0);
      expect(await world.leakedOwned()).toBe(0);
    });
  });

  it('adds an ENI with DeleteOnTermination when the primary ENI is full, and removes it on scale down', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', { 'eip-count': '3' });
    await converge(world, id);
    let instance = await world.deps.ec2.describeInstance(id);
    const extra = instance?.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 1);
    expect(extra?.Attachment?.DeleteOnTermination).toBe(true);
    await world.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '1' }] });
    const down = await converge(world, id);
    expect(down).toMatchObject({ placed: 1, wanted: 1 });
    instance = await world.deps.ec2.describeInstance(id);
    expect(instance?.NetworkInterfaces?.map((n) => n.Attachment?.DeviceIndex)).toEqual([0]);
    expect(instance?.NetworkInterfaces?.[0]?.PrivateIpAddresses).toHaveLength(1);
    expect(await world.leakedOwned()).toBe(0);
  });

  // The ENI's ClientToken is bound to one request (EC2 idempotency): a later scale-up is a new request. A token
  // that named the instance and device only got the deleted ENI back (or IdempotentParameterMismatch).
  it('scales up, down (ENI deleted) and up again: each job creates its own ENI', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', { 'eip-count': '3' });
    const count = (n: string) =>
      world?.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: n }] });
    await reconcileInstance(id, world.deps, { jobId: 'msg-1' });
    await count('1');
    await reconcileInstance(id, world.deps, { jobId: 'msg-2' });
    await count('3');
    const again = await reconcileInstance(id, world.deps, { jobId: 'msg-3' });
    expect(again).toMatchObject({ placed: 3, wanted: 3, status: 'syncing 3/3', retryLater: undefined });
    expect(again.results.filter((o) => o.result === 'failed')).toEqual([]);
    const instance = await world.deps.ec2.describeInstance(id);
    expect(instance?.NetworkInterfaces?.map((n) => n.Attachment?.DeviceIndex).sort()).toEqual([0, 1]);
  });

  // A token EC2 already bound to other parameters (e.g. the same job planned differently after a redelivery): a new
  // token, not a failed job.
  it('takes a new ClientToken when EC2 answers IdempotentParameterMismatch', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', { 'eip-count': '3' });
    const deps: ReconcileDeps = {
      ...world.deps,
      ec2: {
        ...world.deps.ec2,
        createNetworkInterface: async (input) => {
          // Bind the token to another request first, as an earlier attempt with other parameters would have.
          await world?.deps.ec2
            .createNetworkInterface({ ...input, SecondaryPrivateIpAddressCount: 1 })
            .catch(() => undefined);
          deps.ec2.createNetworkInterface = world?.deps.ec2.createNetworkInterface ?? (async () => ({}));
          return world?.deps.ec2.createNetworkInterface(input) ?? {};
        },
      },
    };
    const outcome = await reconcileInstance(id, deps, { jobId: 'msg-1' });
    expect(outcome).toMatchObject({ placed: 3, status: 'syncing 3/3', retryLater: undefined });
    const creates = world.region.calls.filter((c) => c.action === 'CreateNetworkInterface');
    expect(creates.map((c) => c.error ?? 'ok')).toEqual(['ok', 'IdempotentParameterMismatch', 'ok']);
  });

  // p4d.24xlarge: 4 network cards x 15 ENIs. The primary is card 0 device 0; ENIs we add go on card 0, after its
  // taken device indices (an EFA-only interface holds device 1 but takes no address).
  it('places addresses on an instance with several network cards, adding ENIs on card 0 only', async () => {
    world = await makeWorld({ eipQuota: 100 });
    const id = await world.launch('p4d.24xlarge', {});
    const instance = await world.deps.ec2.describeInstance(id);
    const subnet = instance?.SubnetId ?? '';
    const attach = async (DeviceIndex: number, NetworkCardIndex: number, InterfaceType?: 'efa-only') => {
      const eni = await world?.region.ec2('CreateNetworkInterface', {
        SubnetId: subnet,
        ...(InterfaceType ? { InterfaceType } : {}),
      });
      await world?.region.ec2('AttachNetworkInterface', {
        NetworkInterfaceId: eni?.NetworkInterface?.NetworkInterfaceId,
        InstanceId: id,
        DeviceIndex,
        NetworkCardIndex,
      });
    };
    await attach(0, 1);
    await attach(1, 0, 'efa-only');
    await world.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '52' }] });
    const outcome = await reconcileInstance(id, world.deps);
    expect(outcome).toMatchObject({ placed: 52, wanted: 52, status: 'syncing 52/52', retryLater: undefined });
    const after = await world.deps.ec2.describeInstance(id);
    const layout = (after?.NetworkInterfaces ?? []).map((n) => [
      n.Attachment?.NetworkCardIndex,
      n.Attachment?.DeviceIndex,
      n.InterfaceType,
      (n.Description ?? '').startsWith('eip-autopilot') ? 'ours' : 'user',
    ]);
    expect(layout.sort((x, y) => String(x).localeCompare(String(y)))).toEqual([
      [0, 0, 'interface', 'user'],
      [0, 1, 'efa-only', 'user'],
      [0, 2, 'interface', 'ours'],
      [1, 0, 'interface', 'user'],
    ]);
  });

  it('refuses above the type capacity: an error status and no other write', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', { 'eip-count': '9' });
    world.mark();
    const outcome = await reconcileInstance(id, world.deps);
    expect(outcome.status).toBe('error: eip-count 9 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4)');
    expect(world.since().writes).toEqual(['CreateTags']);
  });

  it('writes a clear status for a bad count and touches nothing else', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.micro', { 'eip-count': 'abc' });
    world.mark();
    const outcome = await reconcileInstance(id, world.deps);
    expect(outcome.status).toBe('error: eip-count "abc" is not a whole number');
    expect(world.since().writes).toEqual(['CreateTags']);
  });

  describe('quota', () => {
    it('stops at the quota: degraded, and no unassociated owned EIP', async () => {
      world = await makeWorld({ eipQuota: 2 });
      const id = await world.launch('t3.medium', { 'eip-count': '3' });
      const outcome = await converge(world, id);
      expect(outcome).toMatchObject({ placed: 2, status: 'degraded 2/3: AddressLimitExceeded' });
      expect(await world.leakedOwned()).toBe(0);
    });

    it('beyond the quota: allocates what fits, assigns no IP it cannot fill, the next run writes nothing', async () => {
      world = await makeWorld({ eipQuota: 5 });
      const id = await world.launch('m5.large', { 'eip-count': '8' });
      const first = await converge(world, id);
      expect(first).toMatchObject({ placed: 5, status: 'degraded 5/8: AddressLimitExceeded' });
      expect(await world.leakedOwned()).toBe(0);
      const instance = await world.deps.ec2.describeInstance(id);
      // Primary + 4 secondaries carry the 5 addresses: the quota was read first, so no IP was assigned for nothing.
      expect(instance?.NetworkInterfaces?.[0]?.PrivateIpAddresses).toHaveLength(5);
      world.mark();
      const second = await reconcileInstance(id, world.deps);
      expect(second).toMatchObject({ placed: 5, status: 'degraded 5/8: AddressLimitExceeded' });
      const { writes } = world.since();
      // No EC2 write: no assign/allocate churn every sweep (the guest document is re-sent while not ok, as before).
      expect(writes.filter((w) => w !== 'SendCommand')).toEqual([]);
    });

    it('survives another writer taking the last address mid-way', async () => {
      world = await makeWorld({ eipQuota: 3 });
      const id = await world.launch('t3.medium', { 'eip-count': '3' });
      const w = world;
      let stolen = false;
      const racing: ReconcileDeps = {
        ...w.deps,
        ec2: {
          ...w.deps.ec2,
          async allocateAddress(input) {
            if (!stolen) {
              stolen = true;
              await w.region.ec2('AllocateAddress', { Domain: 'vpc' });
            }
            return w.deps.ec2.allocateAddress(input);
          },
        },
      };
      const outcome = await reconcileInstance(id, racing);
      expect(outcome).toMatchObject({ placed: 2, wanted: 3, status: 'degraded 2/3: AddressLimitExceeded' });
      expect(await world.leakedOwned()).toBe(0);
    });
  });

  describe('pool', () => {
    async function pool(w: World, n: number) {
      for (let i = 0; i < n; i++) {
        await w.region.ec2('AllocateAddress', {
          Domain: 'vpc',
          TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'eip-autopilot:pool', Value: 'partners' }] }],
        });
      }
    }

    it('takes pool addresses, never allocates, and gives them back on scale down', async () => {
      world = await makeWorld();
      await pool(world, 3);
      const id = await world.launch('t3.medium', { 'eip-count': '2', 'eip-pool': 'partners' });
      const up = await converge(world, id);
      expect(up).toMatchObject({ placed: 2, status: 'syncing 2/2' });
      expect(world.region.calls.filter((c) => c.action === 'AllocateAddress')).toHaveLength(3);
      world.mark();
      expect((await reconcileInstance(id, world.deps)).results.map((o) => o.action.kind)).toEqual(['noop']);
      expect(world.since().writes).toEqual([]);
      await world.region.ec2('DeleteTags', { Resources: [id], Tags: [{ Key: 'eip-count' }] });
      await converge(world, id);
      const all = await world.deps.ec2.describeAddresses();
      expect(all).toHaveLength(3);
      expect(all.every((a) => !a.AssociationId && !a.Tags?.some((t) => t.Key === 'eip-autopilot:instance-id'))).toBe(
        true,
      );
    });

    it('reports an empty pool as an error instead of allocating', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.medium', { 'eip-count': '2', 'eip-pool': 'partners' });
      const outcome = await reconcileInstance(id, world.deps);
      expect(outcome.status).toBe('error: pool "partners" has no free address');
      expect(world.region.calls.some((c) => c.action === 'AllocateAddress')).toBe(false);
    });
  });

  describe('stop and terminate', () => {
    it('keeps addresses across stop by default', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.medium', { 'eip-count': '2' });
      await converge(world, id);
      await world.region.ec2('StopInstances', { InstanceIds: [id] });
      world.region.tick();
      world.mark();
      await reconcileInstance(id, world.deps);
      expect(world.since().writes).toEqual([]);
      expect(await ownedOn(world, id)).toHaveLength(2);
    });

    it('releases on stop with eip-on-stop=release', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.medium', { 'eip-count': '2', 'eip-on-stop': 'release' });
      await converge(world, id);
      await world.region.ec2('StopInstances', { InstanceIds: [id] });
      world.region.tick();
      const outcome = await reconcileInstance(id, world.deps);
      expect(outcome.status).toBe('stopped: addresses released (on-stop release)');
      expect(await ownedOn(world, id)).toHaveLength(0);
    });

    it('releases every owned EIP of a terminated instance', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.micro', { 'eip-count': '3' });
      await converge(world, id);
      await world.region.ec2('TerminateInstances', { InstanceIds: [id] });
      world.region.tick();
      await reconcileInstance(id, world.deps);
      expect(await ownedOn(world, id)).toHaveLength(0);
      expect(await world.deps.ec2.describeAddresses()).toHaveLength(0);
    });
  });

  it('leaves a hand-associated EIP alone and skips its private IP', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    const inst = await world.deps.ec2.describeInstance(id);
    const eni = inst?.NetworkInterfaces?.[0];
    const mine = await world.region.ec2('AllocateAddress', { Domain: 'vpc' });
    await world.region.ec2('AssociateAddress', {
      AllocationId: mine.AllocationId,
      NetworkInterfaceId: eni?.NetworkInterfaceId,
      PrivateIpAddress: inst?.PrivateIpAddress,
      AllowReassociation: false,
    });
    await converge(world, id);
    const ours = await ownedOn(world, id);
    expect(ours).toHaveLength(2);
    expect(ours.map((a) => a.PrivateIpAddress)).not.toContain(inst?.PrivateIpAddress);
    await world.region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '0' }] });
    await converge(world, id);
    const left = await world.deps.ec2.describeAddresses();
    expect(left.map((a) => [a.AllocationId, a.PrivateIpAddress])).toEqual([
      [mine.AllocationId, inst?.PrivateIpAddress],
    ]);
  });

  describe('guest finishes before reconcile returns (SSM pickup 0)', () => {
    /** command-status as the bus runs it: on the invocation event, while reconcile may still be running. */
    function runCommandStatusOnEvents(w: World): Promise<unknown>[] {
      const handled: Promise<unknown>[] = [];
      w.region.onEvent((e) => {
        const d = e.detail as Record<string, unknown>;
        if (
          e['detail-type'] === 'EC2 Command Invocation Status-change Notification' &&
          d['document-name'] === DOCUMENT
        ) {
          handled.push(recordGuestResult(w.deps.ec2, String(d['instance-id']), String(d.status)));
        }
      });
      return handled;
    }

    it('ends ok: the status is written before the command is sent, so the invocation event finds it', async () => {
      world = await makeWorld({ commandPickupMs: 0 });
      const w = world;
      const handled = runCommandStatusOnEvents(w);
      const id = await w.launch('t3.medium', { 'eip-count': '2' });
      const outcome = await reconcileInstance(id, w.deps);
      await w.region.idle();
      await Promise.all(handled);
      expect(outcome.status).toBe('syncing 2/2');
      expect((await w.tags(id))['eip-autopilot:status']).toBe('ok 2/2');
    });

    it('ends guest failed when the guest fails at once', async () => {
      world = await makeWorld({
        commandPickupMs: 0,
        runner: async () => ({ exitCode: 1, stdout: '', stderr: 'boom' }),
      });
      const w = world;
      const handled = runCommandStatusOnEvents(w);
      const id = await w.launch('t3.medium', { 'eip-count': '1' });
      await reconcileInstance(id, w.deps);
      await w.region.idle();
      await Promise.all(handled);
      expect((await w.tags(id))['eip-autopilot:status']).toBe('guest failed: Failed (1/1)');
    });
  });

  // Retrying would hold the instance's FIFO group for 5 x 12 minutes and end in the DLQ: the State Manager
  // association runs once the agent registers, and the sweep sends the job again once SSM shows it Online.
  it('ends the job with status pending, no retry, while the guest agent is not registered', async () => {
    world = await makeWorld({ agentRegistrationDelayMs: 600_000 });
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    const outcome = await reconcileInstance(id, world.deps);
    expect(outcome).toMatchObject({ placed: 1, status: 'pending: guest agent not registered yet' });
    expect(outcome.retryLater).toBeUndefined();
  });

  it('asks for a retry when EC2 does not show the instance (yet)', async () => {
    world = await makeWorld();
    world.mark();
    const outcome = await reconcileInstance('i-0123456789abcdef0', world.deps);
    expect(outcome).toMatchObject({ state: undefined, retryLater: 'instance-not-found' });
    expect(world.since().writes).toEqual([]);
  });

  it('retries while a just-launched instance is not visible yet, then converges', async () => {
    const clock = manualClock();
    world = await makeWorld({ launchVisibilityDelayMs: 5_000, clock: clock.now });
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    world.mark();
    expect(await reconcileInstance(id, world.deps)).toMatchObject({ retryLater: 'instance-not-found' });
    expect(world.since().writes).toEqual([]);
    clock.advance(5_000);
    expect(await reconcileInstance(id, world.deps)).toMatchObject({ placed: 1, retryLater: undefined });
  });

  it("gives a pool address back without removing another instance's claim on it", async () => {
    world = await makeWorld();
    const p = await world.region.ec2('AllocateAddress', {
      Domain: 'vpc',
      TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: [{ Key: 'eip-autopilot:pool', Value: 'partners' }] }],
    });
    const id = await world.launch('t3.medium', { 'eip-count': '1', 'eip-pool': 'partners' });
    const w = world;
    const racing: ReconcileDeps = {
      ...w.deps,
      ec2: {
        ...w.deps.ec2,
        async associateAddress(input) {
          // Another instance claims and associates the same address between our tag and our associate.
          const rival = await w.launch('t3.medium', {});
          const inst = await w.deps.ec2.describeInstance(rival);
          await w.region.ec2('CreateTags', {
            Resources: [p.AllocationId ?? ''],
            Tags: [{ Key: 'eip-autopilot:instance-id', Value: rival }],
          });
          await w.region.ec2('AssociateAddress', {
            AllocationId: p.AllocationId,
            NetworkInterfaceId: inst?.NetworkInterfaces?.[0]?.NetworkInterfaceId,
            AllowReassociation: false,
          });
          return w.deps.ec2.associateAddress(input);
        },
      },
    };
    const outcome = await reconcileInstance(id, racing);
    expect(outcome.status).toBe('degraded 0/1: Resource.AlreadyAssociated');
    const [addr] = await world.deps.ec2.describeAddresses();
    expect(addr?.Tags?.find((t) => t.Key === 'eip-autopilot:instance-id')?.Value).not.toBe(id);
    expect(addr?.Tags?.find((t) => t.Key === 'eip-autopilot:instance-id')).toBeDefined();
  });

  it('writes nothing in dry-run mode', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    world.mark();
    const outcome = await reconcileInstance(id, { ...world.deps, config: { ...world.deps.config, dryRun: true } });
    expect(world.since().writes).toEqual([]);
    expect(outcome.results.every((o) => o.result === 'skipped')).toBe(true);
  });
});

describe('Function: reconcileInstance while the guest command is out (status syncing)', () => {
  it(
    'sends nothing while the command runs, and heals a lost invocation event to ok without a second ' + 'command',
    async () => {
      // The agent picks the command up after 300 ms of real time: long enough for a duplicate job to arrive meanwhile.
      world = await makeWorld({ commandPickupMs: 300 });
      const id = await world.launch('t3.medium', { 'eip-count': '2' });
      expect(await reconcileInstance(id, world.deps)).toMatchObject({ status: 'syncing 2/2' });

      world.mark();
      const duplicate = await reconcileInstance(id, world.deps);
      expect(duplicate.status).toBe('syncing 2/2');
      expect(world.since()).toEqual({
        reads: ['DescribeInstances', 'DescribeAddresses', 'ListCommandInvocations'],
        writes: [],
      });

      // The command succeeds, but its status event never reaches command-status (EventBridge is best effort).
      await world.region.idle();
      world.mark();
      const healed = await reconcileInstance(id, world.deps);
      expect(healed.status).toBe('ok 2/2');
      expect(world.since().writes).toEqual(['CreateTags']);
      expect((await world.tags(id))['eip-autopilot:status']).toBe('ok 2/2');

      world.mark();
      await reconcileInstance(id, world.deps);
      expect(world.since()).toEqual({ reads: ['DescribeInstances', 'DescribeAddresses'], writes: [] });
    },
  );

  it('sends the document again when the last command failed and its event was lost', async () => {
    world = await makeWorld({ runner: async () => ({ exitCode: 1, stdout: '', stderr: 'boom' }) });
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    await reconcileInstance(id, world.deps);
    await world.region.idle();
    world.mark();
    await reconcileInstance(id, world.deps);
    expect(world.since().writes).toEqual(['SendCommand']);
  });
});
