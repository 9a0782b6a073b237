import { describe, expect, it } from 'vitest';
import { progressLine, table } from '#local/demo';
import type { AddressRow } from '#local/deployment';

const row = (extra: Partial<AddressRow> = {}): AddressRow => ({
  publicIp: '198.51.100.1',
  allocationId: 'eipalloc-1',
  privateIp: '10.0.0.4',
  eniId: 'eni-1',
  deviceIndex: 0,
  ...extra,
});

describe('Function: table', () => {
  it('EIP → private IP → ENI → guest device → verified egress, a cross when the echo server saw something else', () => {
    const lines = table(
      [
        row({ guestDevice: 'eth0', egress: '198.51.100.1' }),
        row({ publicIp: '198.51.100.2', privateIp: '10.0.0.5', guestDevice: '', egress: '' }),
      ],
      true,
    );
    expect(lines).toEqual([
      '    EIP          → private IP → ENI (device index) → guest device → verified egress (echo server saw)',
      '    198.51.100.1 → 10.0.0.4   → eni-1 (#0)         → eth0         → ✓ 198.51.100.1',
      '    198.51.100.2 → 10.0.0.5   → eni-1 (#0)         → MISSING      → ✗ nothing',
    ]);
  });

  it('says when there is no guest and when there is no EIP', () => {
    expect(table([row()], false)[1]).toContain('n/a (cloud only)');
    expect(table([], true)).toEqual(['    (no EIP associated)']);
  });
});

describe('Function: progressLine', () => {
  it('one line per action with its ids flattened and its reason', () => {
    const line = progressLine({
      kind: 'log',
      level: 'INFO',
      message: 'action executed',
      data: {
        instanceId: 'i-1',
        kind: 'associate',
        reason: 'address-without-eip',
        target: { eniId: 'eni-1', privateIp: '10.0.0.5' },
        id: 'eipalloc-1',
      },
    });
    expect(line).toBe('action   associate eniId=eni-1 privateIp=10.0.0.5 id=eipalloc-1 reason=address-without-eip');
  });

  it('failed actions, jobs, the clock and the guest output', () => {
    expect(
      progressLine({
        kind: 'log',
        level: 'WARN',
        message: 'action failed',
        data: { kind: 'sync-guest', reason: 'cloud-changed', code: 'InvalidInstanceId' },
      }),
    ).toBe('action   failed: sync-guest reason=cloud-changed code=InvalidInstanceId');
    expect(
      progressLine({
        kind: 'log',
        level: 'INFO',
        message: 'job received',
        data: { instanceId: 'i-1', reason: 'tag-change', receiveCount: '2' },
      }),
    ).toBe('job      received i-1 reason=tag-change (receive 2)');
    expect(
      progressLine({ kind: 'clock', advancedMs: 718_400, why: 'SQS visibility timeout: the job comes back' }),
    ).toBe('clock    +718 s (SQS visibility timeout: the job comes back)');
    expect(
      progressLine({
        kind: 'guest-end',
        instanceId: 'i-1',
        exitCode: 0,
        stdout: 'add 10.0.0.5/32 dev eth0\n',
        stderr: '',
        ms: 140,
      }),
    ).toBe('ssm      guest-sync exit 0 after 140 ms\n                    guest: add 10.0.0.5/32 dev eth0');
  });

  it('skips routine INFO logs but shows warnings it has no format for', () => {
    expect(progressLine({ kind: 'log', level: 'INFO', message: 'event ignored', data: {} })).toBeUndefined();
    expect(progressLine({ kind: 'log', level: 'ERROR', message: 'acquisition undo failed', data: { code: 'X' } })).toBe(
      'log      ERROR acquisition undo failed {"code":"X"}',
    );
  });
});
