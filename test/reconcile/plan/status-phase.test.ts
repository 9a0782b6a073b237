import { describe, expect, it } from 'vitest';
import type { GuestCommandState } from '#src/reconcile/observe';
import type { Action } from '#src/reconcile/plan/actions';
import type { Lifecycle } from '#src/reconcile/plan/lifecycle';
import { statusPhase } from '#src/reconcile/plan/status-phase';
import { actual } from '../../helpers/actual';

type Converge = Extract<Lifecycle, { kind: 'converge' }>;
const running: Converge = { kind: 'converge', wanted: 2, removeReason: 'above-desired-count', running: true };
const stopped: Converge = { kind: 'converge', wanted: 0, removeReason: 'instance-stopped', running: false };
const terminated: Converge = { kind: 'converge', wanted: 0, removeReason: 'instance-terminated', running: false };
const associate: Action = {
  kind: 'associate',
  allocation: { ref: 'new-0' },
  target: { eniId: 'eni-0', privateIp: '10.0.0.10' },
  ipIsOurs: false,
  fromPool: false,
  reason: 'address-without-eip',
};
const release: Action = {
  kind: 'release',
  allocationId: 'eipalloc-1',
  publicIp: '1.2.3.4',
  reason: 'instance-stopped',
};

interface Row {
  lc: Converge;
  cloud: Action[];
  current?: string;
  placed: number;
  wanted: number;
  short?: string;
  pool?: string;
  guestCommand?: GuestCommandState;
}

describe('Function: statusPhase', () => {
  it.each<[string, Row, { status?: string; guest?: string; noop?: string; missing?: string[] }]>([
    [
      'cloud changed: syncing, guest sent',
      { lc: running, cloud: [associate], placed: 2, wanted: 2 },
      { status: 'syncing 2/2', guest: 'cloud-changed' },
    ],
    [
      'confirmed: nothing to write or send',
      { lc: running, cloud: [], current: 'ok 2/2', placed: 2, wanted: 2 },
      { noop: 'in-sync' },
    ],
    [
      'no change but unconfirmed: guest re-sent',
      { lc: running, cloud: [], current: 'pending: guest agent not registered yet', placed: 2, wanted: 2 },
      { status: 'syncing 2/2', guest: 'guest-not-confirmed' },
    ],
    [
      'syncing, command unknown: asks SSM',
      { lc: running, cloud: [], current: 'syncing 2/2', placed: 2, wanted: 2 },
      { missing: ['guest-command'] },
    ],
    [
      'syncing, command in flight: waits',
      { lc: running, cloud: [], current: 'syncing 2/2', placed: 2, wanted: 2, guestCommand: 'in-flight' },
      { noop: 'guest-command-in-flight' },
    ],
    [
      'syncing, command succeeded: ok, nothing sent',
      { lc: running, cloud: [], current: 'syncing 2/2', placed: 2, wanted: 2, guestCommand: 'succeeded' },
      { status: 'ok 2/2' },
    ],
    [
      'syncing, command failed: re-sent',
      { lc: running, cloud: [], current: 'syncing 2/2', placed: 2, wanted: 2, guestCommand: 'failed' },
      { guest: 'guest-not-confirmed' },
    ],
    [
      'short: degraded, guest still sent',
      { lc: running, cloud: [associate], placed: 4, wanted: 8, short: 'AddressLimitExceeded' },
      { status: 'degraded 4/8: AddressLimitExceeded', guest: 'cloud-changed' },
    ],
    [
      'empty pool and nothing placed: error',
      { lc: running, cloud: [], placed: 0, wanted: 2, short: 'pool "web" has no free address', pool: 'web' },
      { status: 'error: pool "web" has no free address' },
    ],
    [
      'never managed, nothing wanted: untouched',
      { lc: { ...running, wanted: 0 }, cloud: [], placed: 0, wanted: 0 },
      {},
    ],
    [
      'stopped with release: says so',
      { lc: stopped, cloud: [release], placed: 0, wanted: 0 },
      { status: 'stopped: addresses released (on-stop release)' },
    ],
    ['stopped, nothing ever managed: no status', { lc: stopped, cloud: [], placed: 0, wanted: 0 }, {}],
    ['terminated: no status', { lc: terminated, cloud: [release], placed: 0, wanted: 0 }, {}],
  ])('%s', (_name, row, expected) => {
    const a = actual({
      tags: row.current ? { 'eip-autopilot:status': row.current } : {},
      ...(row.guestCommand ? { guestCommand: row.guestCommand } : {}),
    });
    const out = statusPhase(a, row.lc, {
      actions: row.cloud,
      placed: row.placed,
      wanted: row.wanted,
      shortReason: row.short ?? '',
      pool: row.pool,
    });
    const status = out.actions.find((x) => x.kind === 'write-status');
    const guest = out.actions.find((x) => x.kind === 'sync-guest');
    const noop = out.actions.find((x) => x.kind === 'noop');
    expect({
      ...(status?.kind === 'write-status' ? { status: status.value } : {}),
      ...(guest ? { guest: guest.reason } : {}),
      ...(noop ? { noop: noop.reason } : {}),
      ...(out.missing.length > 0 ? { missing: out.missing } : {}),
    }).toEqual(expected);
    expect(out.actions.slice(0, row.cloud.length)).toEqual(row.cloud);
  });
});
