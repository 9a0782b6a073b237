import { describe, expect, it } from 'vitest';
import type { ActualState } from '#src/reconcile/observe';
import type { PlanContext, TypeLimits } from '#src/reconcile/plan/actions';
import { capacity } from '#src/reconcile/plan/capacity';
import { holdings, keepAndRemove } from '#src/reconcile/plan/holdings';
import { actual, address, eni, placedAt } from '../../helpers/actual';

const t3micro: TypeLimits = { instanceType: 't3.micro', maxEnis: 2, ipv4PerEni: 2 };
const t3medium: TypeLimits = { instanceType: 't3.medium', maxEnis: 3, ipv4PerEni: 6 };
const ctx = (limits?: TypeLimits): PlanContext => ({ countTagKey: 'eip-count', limits });

/** Capacity for `count` new addresses on an instance that should end with `wanted`. */
function run(extra: Partial<ActualState>, wanted: number, count: number, limits?: TypeLimits) {
  const a = actual(extra);
  const h = holdings(a);
  const kept = keepAndRemove(h, wanted, 'above-desired-count');
  return capacity(a, h, kept, count, wanted, ctx(limits));
}

describe('Function: capacity', () => {
  it.each<[string, Partial<ActualState>, number, number, TypeLimits | undefined, string[], string[]]>([
    [
      'free private IPs are enough: no limits read, nothing added',
      { enis: [eni(0, ['10.0.0.10', '10.0.0.11'])] },
      2,
      2,
      undefined,
      [],
      ['10.0.0.10', '10.0.0.11'],
    ],
    [
      'secondary IPs on the primary ENI first',
      {},
      3,
      3,
      t3medium,
      ['assign-private-ips'],
      ['10.0.0.10', 'eni-0+0', 'eni-0+1'],
    ],
    [
      'a new ENI when the primary is full (its primary IP goes with it)',
      { enis: [eni(0, ['10.0.0.10', '10.0.0.11'])] },
      4,
      4,
      t3micro,
      ['create-eni'],
      ['10.0.0.10', '10.0.0.11', 'new1+0', 'new1+1'],
    ],
    [
      'fills the primary, then a new ENI',
      {},
      4,
      4,
      t3micro,
      ['assign-private-ips', 'create-eni'],
      ['10.0.0.10', 'eni-0+0', 'new1+0', 'new1+1'],
    ],
  ])('%s', (_name, extra, wanted, count, limits, kinds, targets) => {
    const cap = run(extra, wanted, count, limits);
    if (!('targets' in cap)) throw new Error(JSON.stringify(cap));
    expect(cap.actions.map((x) => x.kind)).toEqual(kinds);
    expect(
      cap.targets.map(({ target: t }) =>
        'privateIp' in t ? t.privateIp : 'eniId' in t ? `${t.eniId}+${t.newIp}` : `new${t.newEni}+${t.newIp}`,
      ),
    ).toEqual(targets);
  });

  it.each<[string, Partial<ActualState>, number, number, TypeLimits | undefined, object]>([
    ['needs new IPs without limits: asks for them', {}, 2, 2, undefined, { missing: 'limits' }],
    [
      'above the type: an error naming it',
      {},
      5,
      5,
      t3micro,
      { error: 'eip-count 5 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4)' },
    ],
    [
      'foreign EIPs count against the capacity',
      {
        enis: [eni(0, ['10.0.0.10', '10.0.0.11'])],
        addresses: [placedAt('eni-0', '10.0.0.11', { managed: false, instanceTag: undefined })],
      },
      4,
      3,
      t3micro,
      { error: 'eip-count 4 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4, 1 used by other EIPs)' },
    ],
  ])('%s', (_name, extra, wanted, count, limits, expected) => {
    expect(run(extra, wanted, count, limits)).toEqual(expected);
  });

  // Several network cards: every ENI we add goes on card 0 (AttachNetworkInterface's default), whose own limit is
  // what counts; an ENI on another card does not take a card-0 device index, an EFA-only one on card 0 does.
  const p4d: TypeLimits = { instanceType: 'p4d.24xlarge', maxEnis: 3, ipv4PerEni: 2, networkCards: 4 };
  it('adds IPs and ENIs on network card 0 only, skipping its taken device indices', () => {
    const cap = run(
      {
        enis: [
          eni(0, ['10.0.0.10', '10.0.0.11'], { networkCardIndex: 0 }),
          eni(1, [], { eniId: 'eni-efa', networkCardIndex: 0, managed: false }),
          eni(0, ['10.0.2.10'], { eniId: 'eni-card1', networkCardIndex: 1, managed: false }),
        ],
      },
      4,
      4,
      p4d,
    );
    if (!('targets' in cap)) throw new Error(JSON.stringify(cap));
    // The free IP on card 1 is used; one more address needs an ENI: device 2 of card 0 (1 is the EFA-only one).
    expect(cap.actions).toEqual([expect.objectContaining({ kind: 'create-eni', deviceIndex: 2, secondaryCount: 0 })]);
  });

  it('states that the capacity is network card 0 when the type has several', () => {
    expect(run({}, 7, 7, p4d)).toEqual({
      error: 'eip-count 7 exceeds p4d.24xlarge capacity 6 on network card 0 (3 ENIs x 2 IPv4)',
    });
  });

  it('reattaches a leftover ENI of ours instead of creating one, with the IPs it has', () => {
    const cap = run(
      { enis: [eni(0, ['10.0.0.10', '10.0.0.11'])], leftoverEnis: [{ eniId: 'eni-left', privateIps: ['10.0.1.5'] }] },
      4,
      4,
      t3micro,
    );
    if (!('targets' in cap)) throw new Error(JSON.stringify(cap));
    expect(cap.actions).toMatchObject([{ kind: 'create-eni', deviceIndex: 1, reuse: { eniId: 'eni-left' } }]);
    expect(cap.targets).toHaveLength(3);
    expect([...cap.reused]).toEqual(['eni-left']);
  });

  it('marks a free secondary IP that our unassociated address names as ours', () => {
    const spare = address({ assignedIpTag: { value: '10.0.0.11', proves: true, ip: '10.0.0.11' } });
    const cap = run({ enis: [eni(0, ['10.0.0.10', '10.0.0.11'])], addresses: [spare] }, 2, 1, undefined);
    if (!('targets' in cap)) throw new Error(JSON.stringify(cap));
    expect([...cap.ourFreeIps]).toEqual(['10.0.0.11']);
    expect(cap.targets.map((t) => t.ipIsOurs)).toEqual([false]);
  });
});
