import { describe, expect, it } from 'vitest';
import type { DesiredState } from '#src/reconcile/desired';
import { type GuestCommandState, toAssignedIpTag } from '#src/reconcile/observe';
import { type Action, CLOUD_KINDS, type PlanContext, planInstance } from '#src/reconcile/plan';
import { actual, address, eni, placedAt } from '../helpers/actual';

const t3medium = { instanceType: 't3.medium', maxEnis: 3, ipv4PerEni: 6 };
const t3micro = { instanceType: 't3.micro', maxEnis: 2, ipv4PerEni: 2 };
const ctx = (extra: Partial<PlanContext> = {}): PlanContext => ({
  countTagKey: 'eip-count',
  quota: 100,
  limits: t3medium,
  ...extra,
});
const want = (count: number, extra: Partial<Extract<DesiredState, { valid: true }>> = {}): DesiredState => ({
  valid: true,
  count,
  pool: undefined,
  onStop: 'keep',
  ...extra,
});
const kinds = (actions: Action[]) => actions.map((a) => a.kind);
const statusOf = (actions: Action[]) => actions.find((a) => a.kind === 'write-status');

describe('Function: planInstance', () => {
  describe('tag errors', () => {
    it.each(['abc', '-1', '1.5', '1e3', '0x3', ''])('count %j: only the error status, no EC2 writes', (value) => {
      const desired: DesiredState = { valid: false, error: `eip-count "${value}" is not a whole number` };
      const placed = placedAt('eni-0', '10.0.0.10');
      const plan = planInstance(desired, actual({ addresses: [placed] }), ctx());
      expect(plan.actions).toEqual([
        { kind: 'write-status', value: `error: eip-count "${value}" is not a whole number`, reason: 'status-changed' },
      ]);
    });

    it('does not rewrite an unchanged error status', () => {
      const desired: DesiredState = { valid: false, error: 'x' };
      const plan = planInstance(desired, actual({ tags: { 'eip-autopilot:status': 'error: x' } }), ctx());
      expect(plan.actions).toEqual([{ kind: 'noop', reason: 'nothing-to-do' }]);
    });
  });

  describe('fresh instance', () => {
    it('asks for the quota before allocating beyond the default quota of 5', () => {
      const plan = planInstance(want(6), actual(), { countTagKey: 'eip-count', limits: t3medium });
      expect(plan.missing).toEqual(['quota']);
      expect(plan.actions).toEqual([{ kind: 'noop', reason: 'nothing-to-do' }]);
    });

    it('skips the quota read when the Region stays within the default quota', () => {
      const others = [
        address({ managed: false, instanceTag: undefined }),
        address({ managed: false, instanceTag: undefined }),
      ];
      const within = planInstance(want(3), actual({ addresses: others }), {
        countTagKey: 'eip-count',
        limits: t3medium,
      });
      expect(within.missing).toEqual([]);
      const beyond = planInstance(want(4), actual({ addresses: others }), {
        countTagKey: 'eip-count',
        limits: t3medium,
      });
      expect(beyond.missing).toEqual(['quota']);
    });

    it('allocates only what the quota leaves and says why the rest is missing', () => {
      const plan = planInstance(want(8), actual(), { countTagKey: 'eip-count', limits: t3medium, quota: 5 });
      expect(plan.missing).toEqual([]);
      expect(kinds(plan.actions).filter((k) => k === 'allocate')).toHaveLength(5);
      expect(plan).toMatchObject({ placed: 5, wanted: 8 });
      expect(plan.actions).toContainEqual({
        kind: 'write-status',
        value: 'degraded 5/8: AddressLimitExceeded',
        reason: 'status-changed',
      });
    });

    it('puts the first EIP on the primary private IP, with the full association form', () => {
      const plan = planInstance(want(1), actual(), ctx({ limits: undefined }));
      expect(plan.missing).toEqual([]);
      expect(plan.actions).toEqual([
        { kind: 'allocate', ref: 'new-0', ipIsOurs: false, reason: 'address-without-eip' },
        {
          kind: 'associate',
          allocation: { ref: 'new-0' },
          target: { eniId: 'eni-0', privateIp: '10.0.0.10' },
          ipIsOurs: false,
          fromPool: false,
          reason: 'address-without-eip',
        },
        { kind: 'write-status', value: 'syncing 1/1', reason: 'status-changed' },
        { kind: 'sync-guest', reason: 'cloud-changed' },
      ]);
    });

    it('asks for the type limits only when more private IPs are needed', () => {
      const plan = planInstance(want(3), actual(), ctx({ limits: undefined }));
      expect(plan.missing).toEqual(['limits']);
    });

    it('assigns secondaries on the primary ENI with one call, then allocates one EIP per IP', () => {
      const plan = planInstance(want(3), actual(), ctx());
      expect(kinds(plan.actions)).toEqual([
        'assign-private-ips',
        'allocate',
        'allocate',
        'allocate',
        'associate',
        'associate',
        'associate',
        'write-status',
        'sync-guest',
      ]);
      expect(plan.actions[0]).toEqual({
        kind: 'assign-private-ips',
        eniId: 'eni-0',
        count: 2,
        reason: 'need-more-addresses',
      });
      expect(plan.actions.filter((a) => a.kind === 'associate').map((a) => a.kind === 'associate' && a.target)).toEqual(
        [
          { eniId: 'eni-0', privateIp: '10.0.0.10' },
          { eniId: 'eni-0', newIp: 0 },
          { eniId: 'eni-0', newIp: 1 },
        ],
      );
      expect(plan.actions.filter((a) => a.kind === 'allocate').map((a) => a.kind === 'allocate' && a.ipIsOurs)).toEqual(
        [false, true, true],
      );
    });

    it('uses existing secondaries before assigning new ones', () => {
      const plan = planInstance(
        want(2),
        actual({ enis: [eni(0, ['10.0.0.10', '10.0.0.11'])] }),
        ctx({ limits: undefined }),
      );
      expect(kinds(plan.actions)).not.toContain('assign-private-ips');
      expect(plan.missing).toEqual([]);
    });

    it('creates an ENI when the existing ones are full', () => {
      const plan = planInstance(
        want(3),
        actual({ instanceType: 't3.micro', enis: [eni(0, ['10.0.0.10'])] }),
        ctx({ limits: t3micro }),
      );
      expect(plan.actions.filter((a) => a.kind === 'assign-private-ips' || a.kind === 'create-eni')).toEqual([
        { kind: 'assign-private-ips', eniId: 'eni-0', count: 1, reason: 'need-more-addresses' },
        {
          kind: 'create-eni',
          deviceIndex: 1,
          subnetId: 'subnet-1',
          securityGroupIds: ['sg-1'],
          secondaryCount: 0,
          reason: 'existing-enis-full',
        },
      ]);
    });
  });

  describe('capacity', () => {
    it('refuses above the type capacity with no partial apply', () => {
      const plan = planInstance(want(9), actual({ instanceType: 't3.micro' }), ctx({ limits: t3micro }));
      expect(plan.actions).toEqual([
        {
          kind: 'write-status',
          value: 'error: eip-count 9 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4)',
          reason: 'status-changed',
        },
      ]);
    });

    it('counts private IPs taken by foreign EIPs against the capacity', () => {
      const foreign = placedAt('eni-0', '10.0.0.10', { managed: false, instanceTag: undefined });
      const plan = planInstance(want(4), actual({ addresses: [foreign] }), ctx({ limits: t3micro }));
      expect(statusOf(plan.actions)).toMatchObject({
        value: 'error: eip-count 4 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4, 1 used by other EIPs)',
      });
      expect(plan.actions.some((a) => CLOUD_KINDS.has(a.kind))).toBe(false);
    });
  });

  describe('steady state and scale down', () => {
    const three = () => [
      placedAt('eni-0', '10.0.0.10'),
      placedAt('eni-0', '10.0.0.11', { assignedIpTag: toAssignedIpTag('true') }),
      placedAt('eni-0', '10.0.0.12', { assignedIpTag: toAssignedIpTag('true') }),
    ];
    const threeIps = [eni(0, ['10.0.0.10', '10.0.0.11', '10.0.0.12'])];

    it('does nothing when in sync and confirmed by the guest', () => {
      const plan = planInstance(
        want(3),
        actual({ enis: threeIps, addresses: three(), tags: { 'eip-autopilot:status': 'ok 3/3' } }),
        { countTagKey: 'eip-count' },
      );
      expect(plan.actions).toEqual([{ kind: 'noop', reason: 'in-sync' }]);
      expect(plan.missing).toEqual([]);
    });

    describe('status syncing, cloud in place: asks where the guest command stands before sending another', () => {
      const syncing = (guestCommand?: GuestCommandState) =>
        planInstance(
          want(3),
          actual({ enis: threeIps, addresses: three(), tags: { 'eip-autopilot:status': 'syncing 3/3' }, guestCommand }),
          ctx(),
        );

      it('asks for the guest command state first', () => {
        expect(syncing().missing).toEqual(['guest-command']);
      });

      it.each<[GuestCommandState, Action[]]>([
        ['in-flight', [{ kind: 'noop', reason: 'guest-command-in-flight' }]],
        ['succeeded', [{ kind: 'write-status', value: 'ok 3/3', reason: 'status-changed' }]],
        ['failed', [{ kind: 'sync-guest', reason: 'guest-not-confirmed' }]],
        ['none', [{ kind: 'sync-guest', reason: 'guest-not-confirmed' }]],
      ])('guest command %s → %j', (state, expected) => {
        const plan = syncing(state);
        expect(plan.missing).toEqual([]);
        expect(plan.actions).toEqual(expected);
      });
    });

    it('re-sends the guest document after a guest failure without asking SSM', () => {
      const plan = planInstance(
        want(3),
        actual({ enis: threeIps, addresses: three(), tags: { 'eip-autopilot:status': 'guest failed: Failed (3/3)' } }),
        ctx(),
      );
      expect(plan.missing).toEqual([]);
      // The status goes first: a guest that finishes at once must find `syncing` to turn into `ok`.
      expect(plan.actions).toEqual([
        { kind: 'write-status', value: 'syncing 3/3', reason: 'status-changed' },
        { kind: 'sync-guest', reason: 'guest-not-confirmed' },
      ]);
    });

    it('removes from the end of the order, releases and unassigns the IPs it assigned', () => {
      const addrs = three();
      const plan = planInstance(
        want(1),
        actual({ enis: threeIps, addresses: addrs, tags: { 'eip-autopilot:status': 'ok 3/3' } }),
        ctx(),
      );
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
        {
          kind: 'disassociate',
          allocationId: addrs[1]?.allocationId,
          associationId: addrs[1]?.associationId,
          publicIp: addrs[1]?.publicIp,
          reason: 'above-desired-count',
        },
        {
          kind: 'disassociate',
          allocationId: addrs[2]?.allocationId,
          associationId: addrs[2]?.associationId,
          publicIp: addrs[2]?.publicIp,
          reason: 'above-desired-count',
        },
        { kind: 'unassign-private-ip', eniId: 'eni-0', privateIp: '10.0.0.11', reason: 'address-removed' },
        { kind: 'unassign-private-ip', eniId: 'eni-0', privateIp: '10.0.0.12', reason: 'address-removed' },
        {
          kind: 'release',
          allocationId: addrs[1]?.allocationId,
          publicIp: addrs[1]?.publicIp,
          reason: 'above-desired-count',
        },
        {
          kind: 'release',
          allocationId: addrs[2]?.allocationId,
          publicIp: addrs[2]?.publicIp,
          reason: 'above-desired-count',
        },
      ]);
      expect(statusOf(plan.actions)).toMatchObject({ value: 'syncing 1/1' });
    });

    it('never unassigns a secondary IP it did not assign', () => {
      const addrs = [placedAt('eni-0', '10.0.0.10'), placedAt('eni-0', '10.0.0.11')];
      const plan = planInstance(
        want(1),
        actual({ enis: [eni(0, ['10.0.0.10', '10.0.0.11'])], addresses: addrs }),
        ctx(),
      );
      expect(kinds(plan.actions)).not.toContain('unassign-private-ip');
    });

    it('releases everything when the tag is removed (count 0)', () => {
      const plan = planInstance(
        want(0),
        actual({ enis: threeIps, addresses: three(), tags: { 'eip-autopilot:status': 'ok 3/3' } }),
        ctx(),
      );
      expect(kinds(plan.actions).filter((k) => k === 'release')).toHaveLength(3);
      expect(statusOf(plan.actions)).toMatchObject({ value: 'syncing 0/0' });
    });

    it('leaves an instance that never had the tag alone', () => {
      expect(planInstance(want(0), actual(), ctx()).actions).toEqual([{ kind: 'noop', reason: 'nothing-to-do' }]);
    });

    it('detaches and deletes an ENI it created once no EIP is on it', () => {
      const enis = [eni(0, ['10.0.0.10']), eni(1, ['10.0.1.20', '10.0.1.21'])];
      const addrs = [
        placedAt('eni-0', '10.0.0.10'),
        placedAt('eni-1', '10.0.1.20'),
        placedAt('eni-1', '10.0.1.21', { assignedIpTag: toAssignedIpTag('true') }),
      ];
      const plan = planInstance(want(1), actual({ enis, addresses: addrs }), ctx());
      expect(plan.actions.filter((a) => a.kind === 'delete-eni' || a.kind === 'unassign-private-ip')).toEqual([
        { kind: 'delete-eni', eniId: 'eni-1', attachmentId: 'attach-1', reason: 'eni-unused' },
      ]);
    });
  });

  describe('partial states', () => {
    it('associates an allocated-but-unassociated owned address instead of allocating', () => {
      const spare = address();
      const plan = planInstance(want(1), actual({ addresses: [spare] }), { countTagKey: 'eip-count' });
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
        {
          kind: 'associate',
          allocation: { allocationId: spare.allocationId },
          target: { eniId: 'eni-0', privateIp: '10.0.0.10' },
          ipIsOurs: false,
          fromPool: false,
          reason: 'address-without-eip',
        },
      ]);
    });

    it('releases owned leftovers beyond the count', () => {
      const spare = address();
      const plan = planInstance(want(1), actual({ addresses: [placedAt('eni-0', '10.0.0.10'), spare] }), ctx());
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
        {
          kind: 'release',
          allocationId: spare.allocationId,
          publicIp: spare.publicIp,
          reason: 'unassociated-leftover',
        },
      ]);
    });

    it('takes back an owned address associated elsewhere and re-associates it here', () => {
      const wrong = placedAt('eni-other', '10.9.9.9');
      const plan = planInstance(want(1), actual({ addresses: [wrong] }), ctx());
      expect(kinds(plan.actions)).toEqual(['disassociate', 'associate', 'write-status', 'sync-guest']);
      expect(plan.actions[0]).toMatchObject({ reason: 'associated-elsewhere' });
    });

    it('keeps an address where it is even if an earlier IP is free (no paid remap)', () => {
      const enis = [eni(0, ['10.0.0.10', '10.0.0.11'])];
      const plan = planInstance(
        want(1),
        actual({ enis, addresses: [placedAt('eni-0', '10.0.0.11')], tags: { 'eip-autopilot:status': 'ok 1/1' } }),
        ctx(),
      );
      expect(plan.actions).toEqual([{ kind: 'noop', reason: 'in-sync' }]);
    });

    it('re-plans the same ENI ClientToken for a created-but-unattached ENI', () => {
      const world = actual({ instanceType: 't3.micro', enis: [eni(0, ['10.0.0.10', '10.0.0.11'])] });
      const first = planInstance(want(3), world, ctx({ limits: t3micro }));
      const again = planInstance(want(3), world, ctx({ limits: t3micro }));
      expect(first.actions.find((a) => a.kind === 'create-eni')).toEqual(
        again.actions.find((a) => a.kind === 'create-eni'),
      );
    });
  });

  describe('leftovers of a killed run', () => {
    const inSync = () =>
      actual({ addresses: [placedAt('eni-0', '10.0.0.10')], tags: { 'eip-autopilot:status': 'ok 1/1' } });

    it('deletes an unattached ENI of ours that nothing needs, without detaching it', () => {
      const plan = planInstance(
        want(1),
        { ...inSync(), leftoverEnis: [{ eniId: 'eni-left', privateIps: ['10.0.1.5'] }] },
        ctx(),
      );
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
        { kind: 'delete-eni', eniId: 'eni-left', attachmentId: undefined, reason: 'eni-not-attached' },
      ]);
    });

    it('deletes an unattached ENI of an instance EC2 no longer shows', () => {
      const plan = planInstance(
        want(0),
        {
          ...actual({ exists: false, state: undefined, enis: [] }),
          leftoverEnis: [{ eniId: 'eni-left', privateIps: [] }],
        },
        ctx(),
      );
      expect(plan.actions).toEqual([
        { kind: 'delete-eni', eniId: 'eni-left', attachmentId: undefined, reason: 'eni-not-attached' },
      ]);
    });

    it('attaches an unattached ENI of ours again instead of creating one, and uses its IPs', () => {
      const world = actual({ instanceType: 't3.micro', enis: [eni(0, ['10.0.0.10', '10.0.0.11'])] });
      const leftover = { eniId: 'eni-left', privateIps: ['10.0.1.5', '10.0.1.6'] };
      const plan = planInstance(want(3), { ...world, leftoverEnis: [leftover] }, ctx({ limits: t3micro }));
      expect(plan.actions.find((a) => a.kind === 'create-eni')).toMatchObject({ deviceIndex: 1, reuse: leftover });
      expect(kinds(plan.actions)).not.toContain('delete-eni');
      expect(plan.actions.filter((a) => a.kind === 'associate').map((a) => a.kind === 'associate' && a.target)).toEqual(
        [
          { eniId: 'eni-0', privateIp: '10.0.0.10' },
          { eniId: 'eni-0', privateIp: '10.0.0.11' },
          { newEni: 1, newIp: 0 },
        ],
      );
    });

    it(
      'unassigns a free IP that a disassociated address of ours names as assigned by us, and releases the ' + 'address',
      () => {
        const spare = address({ assignedIpTag: toAssignedIpTag('10.0.0.11') });
        const enis = [eni(0, ['10.0.0.10', '10.0.0.11'])];
        const plan = planInstance(want(1), actual({ enis, addresses: [placedAt('eni-0', '10.0.0.10'), spare] }), ctx());
        expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
          { kind: 'unassign-private-ip', eniId: 'eni-0', privateIp: '10.0.0.11', reason: 'address-removed' },
          {
            kind: 'release',
            allocationId: spare.allocationId,
            publicIp: spare.publicIp,
            reason: 'unassociated-leftover',
          },
        ]);
      },
    );

    it('puts that address back on that IP, still marked, when it is needed', () => {
      const spare = address({ assignedIpTag: toAssignedIpTag('10.0.0.11') });
      const enis = [eni(0, ['10.0.0.10', '10.0.0.11'])];
      const plan = planInstance(want(2), actual({ enis, addresses: [placedAt('eni-0', '10.0.0.10'), spare] }), ctx());
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
        {
          kind: 'associate',
          allocation: { allocationId: spare.allocationId },
          target: { eniId: 'eni-0', privateIp: '10.0.0.11' },
          ipIsOurs: true,
          fromPool: false,
          assignedIpTag: '10.0.0.11',
          reason: 'address-without-eip',
        },
      ]);
    });

    it('never unassigns a free IP that only an address with a legacy assigned-ip tag (no IP) could name', () => {
      const spare = address({ assignedIpTag: toAssignedIpTag('true') });
      const enis = [eni(0, ['10.0.0.10', '10.0.0.11'])];
      const plan = planInstance(want(1), actual({ enis, addresses: [placedAt('eni-0', '10.0.0.10'), spare] }), ctx());
      expect(kinds(plan.actions)).not.toContain('unassign-private-ip');
    });

    it('drops the assigned-ip tag of a spare that lands on an IP we did not assign', () => {
      const spare = address({ assignedIpTag: toAssignedIpTag('true') });
      const plan = planInstance(want(1), actual({ addresses: [spare] }), ctx());
      expect(plan.actions.find((a) => a.kind === 'associate')).toMatchObject({
        ipIsOurs: false,
        assignedIpTag: 'true',
      });
    });
  });

  describe('foreign EIPs', () => {
    it('skips a private IP with a hand-associated EIP and never touches it', () => {
      const foreign = placedAt('eni-0', '10.0.0.10', { managed: false, instanceTag: undefined });
      const plan = planInstance(
        want(1),
        actual({ enis: [eni(0, ['10.0.0.10', '10.0.0.11'])], addresses: [foreign] }),
        ctx(),
      );
      const writes = plan.actions.filter((a) => CLOUD_KINDS.has(a.kind));
      expect(writes.map((a) => a.kind)).toEqual(['allocate', 'associate']);
      expect(writes[1]).toMatchObject({ target: { eniId: 'eni-0', privateIp: '10.0.0.11' } });
    });

    it('does not release a foreign address on scale down to 0', () => {
      const foreign = placedAt('eni-0', '10.0.0.10', { managed: false, instanceTag: undefined });
      const plan = planInstance(want(0), actual({ addresses: [foreign] }), ctx());
      expect(plan.actions.some((a) => CLOUD_KINDS.has(a.kind))).toBe(false);
    });

    it('treats a public IP from another source on the instance as foreign', () => {
      const plan = planInstance(
        want(1),
        actual({ enis: [eni(0, ['10.0.0.10', '10.0.0.11'], { ipsWithForeignPublicIp: ['10.0.0.10'] })] }),
        ctx(),
      );
      expect(plan.actions.find((a) => a.kind === 'associate')).toMatchObject({ target: { privateIp: '10.0.0.11' } });
    });
  });

  describe('quota', () => {
    it('allocates only what the quota allows and reports degraded', () => {
      const others = [
        address({ managed: false, instanceTag: undefined }),
        address({ managed: false, instanceTag: undefined }),
        address({ managed: false, instanceTag: undefined }),
      ];
      const plan = planInstance(want(3), actual({ addresses: others }), ctx({ quota: 5 }));
      expect(kinds(plan.actions).filter((k) => k === 'allocate')).toHaveLength(2);
      expect(statusOf(plan.actions)).toMatchObject({ value: 'degraded 2/3: AddressLimitExceeded' });
      expect(plan.actions.find((a) => a.kind === 'assign-private-ips')).toMatchObject({ count: 1 });
    });
  });

  describe('pool', () => {
    const poolAddr = () => address({ managed: false, instanceTag: undefined, pool: 'partners' });

    it('takes free pool addresses instead of allocating', () => {
      const p = poolAddr();
      const plan = planInstance(want(1, { pool: 'partners' }), actual({ addresses: [p] }), {
        countTagKey: 'eip-count',
      });
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind))).toEqual([
        {
          kind: 'take-from-pool',
          allocationId: p.allocationId,
          pool: 'partners',
          ipIsOurs: false,
          reason: 'address-without-eip',
        },
        {
          kind: 'associate',
          allocation: { allocationId: p.allocationId },
          target: { eniId: 'eni-0', privateIp: '10.0.0.10' },
          ipIsOurs: false,
          fromPool: true,
          reason: 'address-without-eip',
        },
      ]);
    });

    it('does not take a pool address reserved by another instance', () => {
      const taken = address({ managed: false, instanceTag: 'i-other', pool: 'partners' });
      const plan = planInstance(want(1, { pool: 'partners' }), actual({ addresses: [taken] }), ctx());
      expect(plan.actions).toEqual([
        { kind: 'write-status', value: 'error: pool "partners" has no free address', reason: 'status-changed' },
      ]);
    });

    it('never pulls back a pool address someone associated elsewhere, even with our claim on it', () => {
      const taken = placedAt('eni-other', '10.9.9.9', { managed: false, pool: 'partners' });
      const plan = planInstance(want(1, { pool: 'partners' }), actual({ addresses: [taken] }), ctx());
      expect(plan.actions).toEqual([
        { kind: 'write-status', value: 'error: pool "partners" has no free address', reason: 'status-changed' },
      ]);
    });

    it('reports an empty pool as an error and never allocates', () => {
      const plan = planInstance(want(2, { pool: 'partners' }), actual(), ctx());
      expect(plan.actions).toEqual([
        { kind: 'write-status', value: 'error: pool "partners" has no free address', reason: 'status-changed' },
      ]);
    });

    it('reports a short pool as degraded', () => {
      const plan = planInstance(
        want(2, { pool: 'partners' }),
        actual({ enis: [eni(0, ['10.0.0.10', '10.0.0.11'])], addresses: [poolAddr()] }),
        ctx(),
      );
      expect(kinds(plan.actions)).not.toContain('allocate');
      expect(statusOf(plan.actions)).toMatchObject({ value: 'degraded 1/2: pool "partners" has no free address' });
    });

    it('gives pool addresses back on scale down and never releases them', () => {
      const p = placedAt('eni-0', '10.0.0.10', { managed: false, pool: 'partners' });
      const plan = planInstance(want(0, { pool: 'partners' }), actual({ addresses: [p] }), ctx());
      expect(plan.actions.filter((a) => CLOUD_KINDS.has(a.kind)).map((a) => a.kind)).toEqual([
        'disassociate',
        'return-to-pool',
      ]);
    });
  });

  describe('stop and terminate', () => {
    const one = () => [placedAt('eni-0', '10.0.0.10')];

    it.each(['stopping', 'stopped'])('keeps addresses while %s by default', (state) => {
      const plan = planInstance(want(1), actual({ state, addresses: one() }), ctx());
      expect(plan.actions).toEqual([{ kind: 'noop', reason: 'instance-stopped-keep' }]);
    });

    it('releases on stop with eip-on-stop=release, without a guest command', () => {
      const plan = planInstance(want(1, { onStop: 'release' }), actual({ state: 'stopped', addresses: one() }), ctx());
      expect(kinds(plan.actions)).toEqual(['disassociate', 'release', 'write-status']);
      expect(plan.actions[0]).toMatchObject({ reason: 'instance-stopped' });
    });

    it.each(['shutting-down', 'terminated'])('releases everything when %s, with no status and no IP undo', (state) => {
      const addrs = [
        placedAt('eni-0', '10.0.0.10'),
        placedAt('eni-0', '10.0.0.11', { assignedIpTag: toAssignedIpTag('true') }),
      ];
      const plan = planInstance(
        want(2),
        actual({ state, enis: [eni(0, ['10.0.0.10', '10.0.0.11'])], addresses: addrs }),
        ctx(),
      );
      expect(kinds(plan.actions)).toEqual(['disassociate', 'disassociate', 'release', 'release']);
      expect(plan.actions[0]).toMatchObject({ reason: 'instance-terminated' });
    });

    it('releases unassociated addresses left by an instance EC2 no longer knows', () => {
      const left = address();
      const plan = planInstance(
        want(0),
        actual({ exists: false, state: undefined, enis: [], addresses: [left, placedAt('eni-x', '10.1.1.1')] }),
        ctx(),
      );
      expect(plan.actions).toEqual([
        { kind: 'release', allocationId: left.allocationId, publicIp: left.publicIp, reason: 'instance-gone' },
      ]);
    });

    it('waits while pending', () => {
      expect(planInstance(want(1), actual({ state: 'pending' }), ctx()).actions).toEqual([
        { kind: 'noop', reason: 'instance-pending' },
      ]);
    });
  });
});
