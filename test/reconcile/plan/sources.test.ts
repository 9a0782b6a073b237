import { describe, expect, it } from 'vitest';
import type { DesiredState } from '#src/reconcile/desired';
import type { AddressView } from '#src/reconcile/observe';
import type { PlanContext } from '#src/reconcile/plan/actions';
import { holdings, keepAndRemove } from '#src/reconcile/plan/holdings';
import { type Placement, placeSources, sources } from '#src/reconcile/plan/sources';
import { actual, address, eni } from '../../helpers/actual';

const want = (count: number, pool?: string): DesiredState => ({ valid: true, count, pool, onStop: 'keep' });
const ctx = (quota?: number): PlanContext => ({ countTagKey: 'eip-count', quota });
const foreign = (n: number) =>
  Array.from({ length: n }, () => address({ managed: false, instanceTag: undefined, associationId: 'eipassoc-x' }));
const pool = (n: number, name = 'web') =>
  Array.from({ length: n }, () => address({ managed: false, instanceTag: undefined, pool: name }));

describe('Function: sources', () => {
  it.each<
    [
      string,
      DesiredState,
      AddressView[],
      number | undefined,
      { spare: number; pool: number; allocate: number; short: string; removed: number } | 'quota',
    ]
  >([
    [
      'new allocations within the default quota, no quota read',
      want(3),
      [],
      undefined,
      { spare: 0, pool: 0, allocate: 3, short: '', removed: 0 },
    ],
    ['beyond the default quota: asks for the quota', want(6), [], undefined, 'quota'],
    [
      'quota 5 with one foreign EIP: 4 of 8',
      want(8),
      foreign(1),
      5,
      { spare: 0, pool: 0, allocate: 4, short: 'AddressLimitExceeded', removed: 0 },
    ],
    ['spare first, then new', want(3), [address()], 100, { spare: 1, pool: 0, allocate: 2, short: '', removed: 0 }],
    [
      'spare beyond the need is released',
      want(1),
      [address(), address()],
      100,
      { spare: 1, pool: 0, allocate: 0, short: '', removed: 1 },
    ],
    [
      'pool: takes free ones, never allocates',
      want(2, 'web'),
      pool(3),
      undefined,
      { spare: 0, pool: 2, allocate: 0, short: '', removed: 0 },
    ],
    [
      'pool too small: says so',
      want(3, 'web'),
      pool(1),
      undefined,
      { spare: 0, pool: 1, allocate: 0, short: 'pool "web" has no free address', removed: 0 },
    ],
    [
      'another pool does not count',
      want(1, 'web'),
      pool(2, 'db'),
      undefined,
      { spare: 0, pool: 0, allocate: 0, short: 'pool "web" has no free address', removed: 0 },
    ],
  ])('%s', (_name, desired, addresses, quota, expected) => {
    const a = actual({ enis: [eni(0, ['10.0.0.10'])], addresses });
    const h = holdings(a);
    const kept = keepAndRemove(h, desired.valid ? desired.count : 0, 'above-desired-count');
    const src = sources(desired, a, h, kept, ctx(quota), 'unassociated-leftover');
    if (expected === 'quota') {
      expect(src).toEqual({ missing: 'quota' });
      return;
    }
    if ('missing' in src) throw new Error('unexpected missing');
    expect({
      spare: src.useSpare.length,
      pool: src.poolFree.length,
      allocate: src.allocatable,
      short: src.shortReason,
      removed: src.actions.filter((x) => x.kind === 'release').length,
    }).toEqual(expected);
    expect(src.count).toBe(src.useSpare.length + src.poolFree.length + src.allocatable);
  });
});

describe('Function: placeSources', () => {
  const targets = (n: number, ours = false): Placement[] =>
    Array.from({ length: n }, (_, k) => ({ target: { eniId: 'eni-0', newIp: k }, ipIsOurs: ours }));
  const spare = address({ assignedIpTag: { value: 'true', proves: true, ip: undefined } });
  const fromPool = pool(1)[0] as AddressView;
  const src = (useSpare: AddressView[], poolFree: AddressView[], allocatable: number) => ({
    actions: [],
    useSpare,
    poolFree,
    allocatable,
    shortReason: '',
    pool: undefined,
    count: useSpare.length + poolFree.length + allocatable,
  });

  it.each<[string, ReturnType<typeof src>, Placement[], string[], number]>([
    ['spare: associate only', src([spare], [], 0), targets(1), ['associate'], 1],
    ['pool: take, then associate', src([], [fromPool], 0), targets(1), ['take-from-pool', 'associate'], 1],
    [
      'new: allocate, then associate',
      src([], [], 2),
      targets(2),
      ['allocate', 'associate', 'allocate', 'associate'],
      2,
    ],
    [
      'in order spare, pool, new',
      src([spare], [fromPool], 1),
      targets(3),
      ['associate', 'take-from-pool', 'associate', 'allocate', 'associate'],
      3,
    ],
    ['fewer targets than sources: the rest waits', src([], [], 3), targets(1), ['allocate', 'associate'], 3],
  ])('%s', (_name, s, t, kinds, used) => {
    const out = placeSources(s, t);
    expect(out.actions.map((a) => a.kind)).toEqual(kinds);
    expect(out.used).toBe(used);
  });

  it('a spare keeps its assigned-ip tag value for execute to rewrite or drop', () => {
    const out = placeSources(src([spare], [], 0), targets(1));
    expect(out.actions[0]).toMatchObject({ kind: 'associate', ipIsOurs: false, assignedIpTag: 'true' });
  });

  it('a new address for an IP we assign is born knowing its target', () => {
    const out = placeSources(src([], [], 1), targets(1, true));
    expect(out.actions[0]).toMatchObject({ kind: 'allocate', ipIsOurs: true, target: { eniId: 'eni-0', newIp: 0 } });
  });
});
