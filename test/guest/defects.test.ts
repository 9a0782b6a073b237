import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeLab } from '../helpers/lab-gate';
import { createLab, type Lab } from '#local/lab/vpc-lab';
import { addresses, egress, eni, instance, sync } from '#local/lab/scenario';

/** Defects D1–D9 of issue 9, each reproduced in the VPC lab (no real manager needed for these). */
describeLab('Script: guest-sync.sh defects found on booted guests', () => {
  let lab: Lab;
  beforeEach(async () => {
    lab = await createLab();
  });
  afterEach(async () => {
    await lab?.destroy();
  });

  it('D1: every recorded address unassigned, then one assigned again: the empty record is a valid state', async () => {
    await lab.apply(instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12] })));
    expect((await sync(lab)).code).toBe(0);
    await lab.apply(instance(eni(1, { device: 0, subnet: 0, hosts: [10] })));
    const emptied = await sync(lab, ['--json']);
    expect(emptied.code, emptied.stderr).toBe(0);
    expect(JSON.parse(emptied.stdout)).toMatchObject({ ok: true, removedCount: 2 });
    const idle = await sync(lab, ['--json']);
    expect(idle.code, idle.stderr).toBe(0);
    expect(JSON.parse(idle.stdout)).toMatchObject({ ok: true, writes: 0 });
    const back = instance(eni(1, { device: 0, subnet: 0, hosts: [10, 13] }));
    await lab.apply(back);
    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('add 10.0.0.13/32 dev eth0 reason=secondary-ip-missing');
    const { expected, seen } = await egress(lab, back);
    expect(seen).toEqual(expected);
  });

  it('D2: the second ENI detached and re-attached while eth0 has no secondaries: runs keep succeeding', async () => {
    const both = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
    );
    await lab.apply(both);
    expect((await sync(lab)).code).toBe(0);
    await lab.apply(instance(eni(1, { device: 0, subnet: 0, hosts: [10] })));
    const detached = await sync(lab);
    expect(detached.code, detached.stderr).toBe(0);
    await lab.apply(both);
    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(await addresses(lab, 'eth1')).toEqual(['10.0.1.20/24 noprefixroute', '10.0.1.21/32 noprefixroute']);
    const { expected, seen } = await egress(lab, both);
    expect(seen).toEqual(expected);
  });
});
