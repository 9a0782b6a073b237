import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActionResult } from '#src/reconcile/execute';
import type { Action, PlanResult } from '#src/reconcile/plan';
import {
  classifyInvocation,
  guestCommandState,
  parseStatus,
  type RunContext,
  Status,
  statusAfterGuest,
  statusAfterRun,
  strongerStatus,
} from '#src/reconcile/status';

describe('Status constructors and parseStatus', () => {
  it.each([
    [Status.ok(3, 4), 'ok 3/4', { kind: 'ok', placed: 3, wanted: 4 }],
    [Status.syncing(0, 2), 'syncing 0/2', { kind: 'syncing', placed: 0, wanted: 2 }],
    [
      Status.degraded(4, 8, 'AddressLimitExceeded'),
      'degraded 4/8: AddressLimitExceeded',
      { kind: 'degraded', placed: 4, wanted: 8, reason: 'AddressLimitExceeded' },
    ],
    [Status.error('eip-count "x" is not a whole number'), 'error: eip-count "x" is not a whole number', {}],
    [Status.stoppedReleased(), 'stopped: addresses released (on-stop release)', { kind: 'stopped' }],
    [Status.agentPending(), 'pending: guest agent not registered yet', { kind: 'pending' }],
    [
      Status.guestFailed('Failed', { placed: 2, wanted: 3 }),
      'guest failed: Failed (2/3)',
      { kind: 'guest-failed', reason: 'Failed', placed: 2, wanted: 3 },
    ],
    [Status.guestFailed('SendCommand Throttling'), 'guest failed: SendCommand Throttling', { kind: 'guest-failed' }],
    [Status.guestSkipped(2, 2), 'cloud ok 2/2: guest sync skipped', { kind: 'guest-skipped', placed: 2, wanted: 2 }],
  ])('%s', (value, expected, parsed) => {
    expect(value).toBe(expected);
    expect(parseStatus(value)).toMatchObject(parsed);
    expect(parseStatus(value)).toBeDefined();
  });

  it.each([[undefined], [''], ['ok'], ['something else 1/2']])('parses %j as unknown', (value) => {
    expect(parseStatus(value)).toBeUndefined();
  });

  it('trims a long reason to the 256-character tag limit', () => {
    const value = Status.degraded(1, 2, 'x'.repeat(300));
    expect(value).toHaveLength(256);
    expect(value.endsWith('...')).toBe(true);
  });
});

describe('Function: strongerStatus', () => {
  it.each([
    [Status.degraded(4, 8, 'AddressLimitExceeded'), Status.guestSkipped(4, 8), 'degraded 4/8: AddressLimitExceeded'],
    [Status.guestSkipped(4, 8), Status.degraded(4, 8, 'AddressLimitExceeded'), 'degraded 4/8: AddressLimitExceeded'],
    [Status.error('pool "x" has no free address'), Status.guestSkipped(0, 2), 'error: pool "x" has no free address'],
    [Status.syncing(2, 2), Status.guestSkipped(2, 2), 'cloud ok 2/2: guest sync skipped'],
    [Status.ok(2, 2), Status.guestSkipped(2, 2), 'cloud ok 2/2: guest sync skipped'],
    [undefined, Status.guestSkipped(1, 1), 'cloud ok 1/1: guest sync skipped'],
    [Status.error('x'), Status.degraded(1, 2, 'y'), 'error: x'],
  ])('%j vs %j → %j', (a, b, stronger) => {
    expect(strongerStatus(a, b)).toBe(stronger);
  });
});

describe('SSM invocation statuses', () => {
  it.each([
    [undefined, 'none', 'none'],
    ['Pending', 'in-flight', 'in-flight'],
    ['InProgress', 'in-flight', 'in-flight'],
    ['Delayed', 'in-flight', 'in-flight'],
    // Not final: SSM is still stopping the command, which can still end Success, Failed or Cancelled.
    ['Cancelling', 'in-flight', 'in-flight'],
    ['Success', 'succeeded', 'succeeded'],
    ['Failed', 'failed', 'failed'],
    ['Delivery Timed Out', 'failed', 'failed'],
    ['SomethingNew', 'unknown', 'failed'],
  ])('%j: classified %s, reconcile reads %s', (status, classified, state) => {
    expect(classifyInvocation(status)).toBe(classified);
    expect(guestCommandState(status)).toBe(state);
  });
});

describe('Function: statusAfterGuest', () => {
  it.each([
    ['syncing 3/3', 'Success', 'ok 3/3'],
    ['guest failed: Failed (2/2)', 'Success', 'ok 2/2'],
    ['syncing 3/3', 'Failed', 'guest failed: Failed (3/3)'],
    ['syncing 1/1', 'TimedOut', 'guest failed: TimedOut (1/1)'],
    ['syncing 1/1', 'InProgress', undefined],
    ['syncing 1/1', 'Cancelling', undefined],
    ['syncing 1/1', 'Cancelled', 'guest failed: Cancelled (1/1)'],
    ['syncing 1/1', 'SomethingNew', undefined],
    ['degraded 2/3: AddressLimitExceeded', 'Success', undefined],
    ['error: eip-count "x" is not a whole number', 'Failed', undefined],
    [undefined, 'Success', undefined],
  ])('%j + %s → %j', (current, status, after) => {
    expect(statusAfterGuest(current, status)).toBe(after);
  });
});

describe('Function: statusAfterRun', () => {
  const target = { eniId: 'eni-0', privateIp: '10.0.0.10' };
  const associate: Action = {
    kind: 'associate',
    allocation: { ref: 'new-0' },
    target,
    ipIsOurs: false,
    fromPool: false,
    reason: 'address-without-eip',
  };
  const release: Action = { kind: 'release', allocationId: 'eipalloc-1', publicIp: '1.2.3.4', reason: 'invalid-tags' };
  const sync: Action = { kind: 'sync-guest', reason: 'cloud-changed' };
  const plan = (status: string | undefined, placed: number, wanted: number, guest = true): PlanResult => ({
    actions: [
      associate,
      ...(status ? [{ kind: 'write-status' as const, value: status, reason: 'status-changed' as const }] : []),
      ...(guest ? [sync] : []),
    ],
    missing: [],
    placed,
    wanted,
  });
  const done = (action: Action): ActionResult => ({ action, result: 'done' });
  const failed = (action: Action, error: string, name = error): ActionResult => ({
    action,
    result: 'failed',
    error,
    cause: Object.assign(new Error(error), { name }),
  });
  const run = (extra: Partial<RunContext> = {}): RunContext => ({
    current: undefined,
    guest: true,
    dryRun: false,
    exists: true,
    ...extra,
  });

  it.each<[string, PlanResult, ActionResult[], RunContext, ReturnType<typeof statusAfterRun>]>([
    [
      'all done: the plan status',
      plan(Status.syncing(2, 2), 2, 2),
      [done(associate)],
      run(),
      { status: 'syncing 2/2', placed: 2, retryLater: undefined },
    ],
    [
      'no status planned: the current one',
      plan(undefined, 2, 2, false),
      [],
      run({ current: 'ok 2/2' }),
      { status: 'ok 2/2', placed: 2, retryLater: undefined },
    ],
    [
      '--no-guest over syncing: guest skipped',
      plan(Status.syncing(2, 2), 2, 2),
      [done(associate)],
      run({ guest: false }),
      { status: 'cloud ok 2/2: guest sync skipped', placed: 2, retryLater: undefined },
    ],
    [
      '--no-guest over degraded: degraded wins',
      plan(Status.degraded(4, 8, 'AddressLimitExceeded'), 4, 8),
      [done(associate)],
      run({ guest: false }),
      { status: 'degraded 4/8: AddressLimitExceeded', placed: 4, retryLater: undefined },
    ],
    [
      '--no-guest over an unchanged degraded status: degraded wins',
      plan(undefined, 4, 8),
      [done(associate)],
      run({ guest: false, current: 'degraded 4/8: AddressLimitExceeded' }),
      { status: 'degraded 4/8: AddressLimitExceeded', placed: 4, retryLater: undefined },
    ],
    [
      'a missed association lowers the count',
      plan(Status.syncing(2, 2), 2, 2),
      [failed(associate, 'InvalidParameterValue')],
      run(),
      { status: 'degraded 1/2: InvalidParameterValue', placed: 1, retryLater: undefined },
    ],
    [
      'a throttled acquire asks for a retry',
      plan(Status.syncing(1, 1), 1, 1),
      [failed(associate, 'RequestLimitExceeded')],
      run(),
      { status: 'degraded 0/1: RequestLimitExceeded', placed: 0, retryLater: 'associate failed: RequestLimitExceeded' },
    ],
    [
      'a failed removal: degraded and retry',
      { ...plan(Status.ok(0, 0), 0, 0, false), actions: [release] },
      [failed(release, 'InvalidIPAddress.InUse')],
      run(),
      {
        status: 'degraded 0/0: release InvalidIPAddress.InUse',
        placed: 0,
        retryLater: 'release failed: InvalidIPAddress.InUse',
      },
    ],
    [
      'dry run: nothing missed',
      plan(Status.syncing(1, 1), 1, 1),
      [{ action: associate, result: 'skipped', error: 'dry-run' }],
      run({ dryRun: true }),
      { status: 'syncing 1/1', placed: 1, retryLater: undefined },
    ],
    [
      'instance not visible yet: retry',
      { actions: [{ kind: 'noop', reason: 'nothing-to-do' }], missing: [], placed: 0, wanted: 0 },
      [],
      run({ exists: false }),
      { status: undefined, placed: 0, retryLater: 'instance-not-found' },
    ],
    [
      'agent not registered: pending, no retry (the sweep sends a job once the agent is Online)',
      plan(Status.syncing(1, 1), 1, 1),
      [done(associate), failed(sync, 'InvalidInstanceId')],
      run(),
      { status: 'pending: guest agent not registered yet', placed: 1, retryLater: undefined },
    ],
    [
      'SendCommand refused: guest failed',
      plan(Status.syncing(1, 1), 1, 1),
      [done(associate), failed(sync, 'InvalidDocument')],
      run(),
      { status: 'guest failed: SendCommand InvalidDocument', placed: 1, retryLater: undefined },
    ],
  ])('%s', (_name, p, results, ctx, expected) => {
    expect(statusAfterRun(p, results, ctx)).toEqual(expected);
  });
});

describe('status strings have one owner', () => {
  const ROOT = resolve(import.meta.dirname, '../..');
  const OWNER = 'src/reconcile/status.ts';
  // A string literal (quote or backtick) that starts like a status value: `ok 1/1`, `error: …`, `syncing ${…}`.
  const LITERAL = new RegExp(
    String.raw`(['"\x60])(?:(?:ok|syncing|degraded) (?:\d|\$\{)|(?:error|pending|stopped): ` +
      '|guest failed|cloud ok |syncing |degraded )',
  );
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );

  it('the pattern finds a status literal (it can fail)', () => {
    expect(LITERAL.test("const s = 'ok 1/1';")).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    expect(LITERAL.test('return `degraded ${k}/${n}: ${why}`;')).toBe(true);
    expect(LITERAL.test("child.on('error', fail);")).toBe(false);
  });

  it('no source outside status.ts writes or matches a status value literally', () => {
    const offenders = ['src', 'functions', 'local', 'bench', 'scripts'].flatMap((folder) =>
      files(join(ROOT, folder)).flatMap((file) => {
        const path = relative(ROOT, file);
        if (path === OWNER) return [];
        return readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (LITERAL.test(line) && !/^\s*(\/\/|\*)/.test(line) ? [`${path}:${i + 1}`] : []));
      }),
    );
    expect(offenders).toEqual([]);
  });
});
