import { describe, expect, it } from 'vitest';
import type { ActualState } from '#src/reconcile/observe';
import { capacity } from '#src/reconcile/plan/capacity';
import { cleanup, cleanupGone } from '#src/reconcile/plan/cleanup';
import { holdings, keepAndRemove } from '#src/reconcile/plan/holdings';
import { placeSources, sources } from '#src/reconcile/plan/sources';
import { actual, address, eni, placedAt } from '../../helpers/actual';

const tagged = (ip: string) => ({ assignedIpTag: { value: ip, proves: true, ip } });

/** Runs the phases before cleanup for `wanted` on a running instance, then cleanup. */
function run(extra: Partial<ActualState>, wanted: number, undoIps = true) {
  const a = actual(extra);
  const h = holdings(a);
  const kept = keepAndRemove(h, wanted, 'above-desired-count');
  const src = sources(
    { valid: true, count: wanted, pool: undefined, onStop: 'keep' },
    a,
    h,
    kept,
    { countTagKey: 'eip-count', quota: 100 },
    'unassociated-leftover',
  );
  if ('missing' in src) throw new Error('missing');
  const cap = capacity(a, h, kept, src.count, wanted, { countTagKey: 'eip-count' });
  if (!('targets' in cap)) throw new Error(JSON.stringify(cap));
  const placed = placeSources(src, cap.targets);
  return cleanup(a, h, kept, cap, placed.used, undoIps).map((x) =>
    x.kind === 'delete-eni' || x.kind === 'unassign-private-ip'
      ? `${x.kind} ${x.eniId}${'privateIp' in x ? ` ${x.privateIp}` : ''} ${x.reason}`
      : x.kind,
  );
}

const twoEnis = [eni(0, ['10.0.0.10', '10.0.0.11']), eni(1, ['10.0.1.20', '10.0.1.21'])];

describe('Function: cleanup', () => {
  it.each<[string, Partial<ActualState>, number, boolean, string[]]>([
    ['nothing to undo', { addresses: [placedAt('eni-0', '10.0.0.10')] }, 1, true, []],
    [
      'an ENI of ours with no EIP left goes',
      { enis: twoEnis, addresses: [placedAt('eni-0', '10.0.0.10')] },
      1,
      true,
      ['delete-eni eni-1 eni-unused'],
    ],
    [
      'a secondary IP we assigned goes with its address',
      {
        enis: [eni(0, ['10.0.0.10', '10.0.0.11'])],
        addresses: [placedAt('eni-0', '10.0.0.10'), placedAt('eni-0', '10.0.0.11', tagged('10.0.0.11'))],
      },
      1,
      true,
      ['unassign-private-ip eni-0 10.0.0.11 address-removed'],
    ],
    [
      'an IP we did not assign stays',
      {
        enis: [eni(0, ['10.0.0.10', '10.0.0.11'])],
        addresses: [placedAt('eni-0', '10.0.0.10'), placedAt('eni-0', '10.0.0.11')],
      },
      1,
      true,
      [],
    ],
    [
      'a free IP our spare address names is unassigned when not reused',
      {
        enis: [eni(0, ['10.0.0.10', '10.0.0.11'])],
        addresses: [placedAt('eni-0', '10.0.0.10'), address(tagged('10.0.0.11'))],
      },
      1,
      true,
      ['unassign-private-ip eni-0 10.0.0.11 address-removed'],
    ],
    [
      'terminating: nothing undone but leftover ENIs',
      { enis: twoEnis, leftoverEnis: [{ eniId: 'eni-left', privateIps: [] }] },
      0,
      false,
      ['delete-eni eni-left eni-not-attached'],
    ],
  ])('%s', (_name, extra, wanted, undoIps, expected) => {
    expect(run(extra, wanted, undoIps)).toEqual(expected);
  });
});

describe('Function: cleanupGone', () => {
  it.each<[string, Parameters<typeof address>[0][], string[]]>([
    ['an unassociated address of ours is released', [{}], ['release']],
    ['an associated one was moved by someone: untouched', [{ associationId: 'eipassoc-1' }], []],
    ['a pool address goes back to its pool', [{ managed: false, pool: 'web' }], ['return-to-pool']],
  ])('%s', (_name, specs, kinds) => {
    const held = specs.map((s) => address(s));
    expect(cleanupGone(actual({ exists: false }), held).map((a) => a.kind)).toEqual(kinds);
  });
});
