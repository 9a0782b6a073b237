import { describe, expect, it } from 'vitest';
import { main } from '#src/cli/main';
import type { Deps } from '#src/deps';
import type { World } from '#local/world';
import { worldsPerTest } from '../helpers/worlds';

const makeWorld = worldsPerTest();
let world: World | undefined;

async function run(args: string[], w?: World) {
  const out: string[] = [];
  const err: string[] = [];
  const deps = (): Deps => {
    if (!w) throw new Error('no AWS in this test');
    return {
      ...w.deps,
      config: { ...w.deps.config, jobQueueUrl: undefined, apiRateShare: 0.6, reconcileConcurrency: 5 },
      sqs: { send: async () => undefined },
    };
  };
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, deps);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('Function: main (CLI)', () => {
  it.each([
    [[]],
    [['frob']],
    [['plan']],
    [['plan', 'not-an-id']],
    [['status', 'extra']],
    [['--bogus']],
    [['sweep', '--no-guest']],
  ])('exits 2 with the usage for %j', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: eip-autopilot');
  });

  it('prints the usage on --help', async () => {
    const r = await run(['--help']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('reconcile <instance-id> [--no-guest]');
  });

  it('plan lists actions with reasons and writes nothing', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    world.mark();
    const r = await run(['plan', id], world);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`plan for ${id} (running): 2/2 after apply`);
    expect(r.out).toMatch(/assign-private-ips +1 on eni-\S+ +need-more-addresses/);
    expect(world.since().writes).toEqual([]);
  });

  it('plan --json gives the actions as data', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    const r = await run(['plan', id, '--json'], world);
    expect(JSON.parse(r.out)).toMatchObject({
      instanceId: id,
      wanted: 1,
      actions: [{ kind: 'allocate' }, { kind: 'associate' }, { kind: 'write-status' }, { kind: 'sync-guest' }],
    });
  });

  it('reconcile --no-guest converges the cloud side without SendCommand', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    const r = await run(['reconcile', id, '--no-guest'], world);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`reconciled ${id} (running): 2/2, status "cloud ok 2/2: guest sync skipped"`);
    expect(world.region.calls.some((c) => c.action === 'SendCommand')).toBe(false);
  });

  // Quota 5 with one foreign EIP: 4 fit. The shortfall and its cause must survive --no-guest, and the exit code
  // must say that fewer than n were placed.
  it('reconcile --no-guest keeps a degraded status and exits 1 when fewer than n were placed', async () => {
    world = await makeWorld({ eipQuota: 5 });
    await world.region.ec2('AllocateAddress', { Domain: 'vpc' });
    const id = await world.launch('m5.large', { 'eip-count': '8' });
    const r = await run(['reconcile', id, '--no-guest'], world);
    expect(r.out).toContain(`reconciled ${id} (running): 4/8, status "degraded 4/8: AddressLimitExceeded"`);
    expect(r.code).toBe(1);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('degraded 4/8: AddressLimitExceeded');
  });

  it('status shows a table of managed instances', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    await run(['reconcile', id], world);
    await world.settleGuest();
    const r = await run(['status', '--json'], world);
    expect(JSON.parse(r.out)).toEqual([
      { instanceId: id, state: 'running', desired: '1', actual: 1, addresses: [expect.any(String)], status: 'ok 1/1' },
    ]);
    const table = await run(['status'], world);
    expect(table.out.split('\n')[0]).toMatch(/^INSTANCE +STATE +DESIRED +ACTUAL +ADDRESSES +STATUS$/);
  });

  it('sweep --dry-run lists drift; sweep fixes it', async () => {
    world = await makeWorld();
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    const dry = await run(['sweep', '--dry-run', '--json'], world);
    expect(JSON.parse(dry.out)).toEqual({
      scanned: 1,
      drifted: [{ instanceId: id, drift: 'address-without-eip' }],
      reconciled: [],
    });
    const wet = await run(['sweep'], world);
    expect(wet.code).toBe(0);
    expect(wet.out).toContain(`reconciled ${id}: 1/1 syncing 1/1`);
  });
});
