import { describe, expect, it } from 'vitest';
import type { ActualState } from '#src/reconcile/observe';
import { holdings, keepAndRemove } from '#src/reconcile/plan/holdings';
import { ID, actual, address, eni, placedAt } from '../../helpers/actual';

const enis = [eni(0, ['10.0.0.10', '10.0.0.11', '10.0.0.12']), eni(1, ['10.0.1.20', '10.0.1.21'])];
const ids = (list: { allocationId: string }[]) => list.map((a) => a.allocationId);

describe('Function: holdings', () => {
  const onPrimary = placedAt('eni-0', '10.0.0.10');
  const onSecond = placedAt('eni-1', '10.0.1.20');
  const spare = address();
  const elsewhere = { ...placedAt('eni-other', '10.9.9.9'), allocationId: 'eipalloc-zzz' };
  const foreign = placedAt('eni-0', '10.0.0.11', { managed: false, instanceTag: undefined });
  const otherInstance = address({ instanceTag: 'i-other' });
  const claimedPool = address({ managed: false, pool: 'web' });
  const poolTakenByOthers = placedAt('eni-other', '10.9.9.8', { managed: false, pool: 'web' });
  const poolOnOurEni = placedAt('eni-1', '10.0.1.21', { managed: false, pool: 'web', instanceTag: undefined });

  it.each<[string, Partial<ActualState>, { held: string[]; placed: string[]; elsewhere: string[]; foreign: string[] }]>(
    [
      ['nothing', { enis }, { held: [], placed: [], elsewhere: [], foreign: [] }],
      [
        'placed in contract order, whatever the allocation ids',
        { enis, addresses: [onSecond, onPrimary] },
        { held: ids([onPrimary, onSecond]), placed: ids([onPrimary, onSecond]), elsewhere: [], foreign: [] },
      ],
      [
        'spare and elsewhere are held, not placed',
        { enis, addresses: [spare, elsewhere] },
        { held: ids([spare, elsewhere]), placed: [], elsewhere: ids([elsewhere]), foreign: [] },
      ],
      [
        "another instance's address and a foreign EIP are not held; the foreign one's IP is taken",
        { enis, addresses: [otherInstance, foreign] },
        { held: [], placed: [], elsewhere: [], foreign: ['eni-0/10.0.0.11'] },
      ],
      [
        'a public IP that is not in DescribeAddresses takes its private IP',
        { enis: [eni(0, ['10.0.0.10', '10.0.0.11'], { ipsWithForeignPublicIp: ['10.0.0.11'] })] },
        { held: [], placed: [], elsewhere: [], foreign: ['eni-0/10.0.0.11'] },
      ],
      [
        'pool: claimed and unassociated, or on our ENI, is held; claimed but taken by others is not',
        { enis, addresses: [claimedPool, poolTakenByOthers, poolOnOurEni] },
        {
          held: ids([claimedPool, poolOnOurEni].sort((a, b) => a.allocationId.localeCompare(b.allocationId))),
          placed: ids([poolOnOurEni]),
          elsewhere: [],
          foreign: [],
        },
      ],
    ],
  )('%s', (_name, extra, expected) => {
    const h = holdings(actual(extra));
    expect({
      held: ids(h.held),
      placed: ids(h.placed),
      elsewhere: ids(h.elsewhere),
      foreign: [...h.foreign],
    }).toEqual(expected);
    expect(h.slots.map((s) => s.index)).toEqual(h.slots.map((_, i) => i));
  });
});

describe('Function: keepAndRemove', () => {
  const a = placedAt('eni-0', '10.0.0.10');
  const b = placedAt('eni-0', '10.0.0.11');
  const c = placedAt('eni-1', '10.0.1.20');
  const spare = address();
  const away = { ...placedAt('eni-other', '10.9.9.9'), allocationId: 'eipalloc-zzz' };
  const base = { enis, addresses: [a, b, c] };

  it.each<[string, Partial<ActualState>, number, { kinds: string[]; keep: number; need: number; free: string[] }]>([
    [
      'keeps all when wanted is more; the rest of the IPs are free',
      base,
      5,
      { kinds: [], keep: 3, need: 2, free: ['10.0.0.12', '10.0.1.21'] },
    ],
    [
      'removes from the end of the contract order',
      base,
      1,
      {
        kinds: ['disassociate', 'release', 'disassociate', 'release'],
        keep: 1,
        need: 0,
        free: ['10.0.0.11', '10.0.0.12', '10.0.1.20', '10.0.1.21'],
      },
    ],
    [
      'takes back an address of ours associated elsewhere (it becomes spare)',
      { enis, addresses: [a, away, spare] },
      1,
      { kinds: ['disassociate'], keep: 1, need: 0, free: ['10.0.0.11', '10.0.0.12', '10.0.1.20', '10.0.1.21'] },
    ],
  ])('%s', (_name, extra, wanted, expected) => {
    const h = holdings(actual({ instanceId: ID, ...extra }));
    const kept = keepAndRemove(h, wanted, 'above-desired-count');
    expect({
      kinds: kept.actions.map((x) => x.kind),
      keep: kept.keep.length,
      need: kept.need,
      free: kept.freeSlots.map((s) => s.privateIp),
    }).toEqual(expected);
    expect(kept.spare.length).toBe(h.held.filter((x) => !x.associationId).length + h.elsewhere.length);
  });
});
