import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeLab } from '../helpers/lab-gate';
import { createLab, type Lab } from '#local/lab/vpc-lab';
import { addresses, egress, eni, instance, rules, startNetworkd, sync } from '#local/lab/scenario';

const networkd = ['/lib/systemd/systemd-networkd', '/usr/lib/systemd/systemd-networkd'].find((p) => existsSync(p));

describeLab('Script: guest-sync.sh on a systemd-networkd guest', () => {
  let lab: Lab;
  beforeEach(async () => {
    lab = await createLab();
  });
  afterEach(async () => {
    await lab?.destroy();
  });

  it('plain kernel state, no networkd files; a reload keeps it, a reconfigure is repaired by the hook', async () => {
    expect(networkd, 'systemd-networkd is installed (CI installs it)').toBeDefined();
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
    );
    await lab.apply(inst);
    await startNetworkd(lab, inst);

    const res = await sync(lab, ['--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, manager: 'networkd' });
    // Nothing written for networkd: changing its configuration would make it re-apply links (and renew DHCP).
    expect(existsSync(join(lab.runDir, 'systemd/network'))).toBe(false);

    expect((await lab.exec(['sh', '-c', 'networkctl reload && sleep 1'])).code).toBe(0);
    expect(await addresses(lab, 'eth0')).toContain('10.0.0.11/32 noprefixroute');
    expect(await rules(lab)).toHaveLength(2);

    // A reconfigure drops what networkd did not configure; what the path unit starts on the state change repairs it.
    expect((await lab.exec(['sh', '-c', 'networkctl reconfigure eth0 eth1 && sleep 1'])).code).toBe(0);
    expect(await rules(lab)).toEqual([]);
    const hook = await sync(lab, ['--trigger', 'networkd'], { EIP_AUTOPILOT_SETTLE: '0' });
    expect(hook.code, hook.stderr).toBe(0);
    expect(await addresses(lab, 'eth1')).toEqual(['10.0.1.20/24 noprefixroute', '10.0.1.21/32 noprefixroute']);
    expect(await rules(lab)).toEqual([
      '10001: from 10.0.1.20 lookup 10001 proto 234',
      '10001: from 10.0.1.21 lookup 10001 proto 234',
    ]);
    const { expected, seen } = await egress(lab, inst);
    expect(seen).toEqual(expected);

    const again = await sync(lab, ['--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, manager: 'networkd', writes: 0 });
  });

  it('an IP removed in IMDS leaves the kernel', async () => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
    );
    await lab.apply(inst);
    await startNetworkd(lab, inst);
    expect((await sync(lab)).code).toBe(0);
    const reduced = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10] }),
      eni(2, { device: 1, subnet: 1, hosts: [20] }),
    );
    await lab.apply(reduced);
    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(await addresses(lab, 'eth0')).toEqual(['10.0.0.10/24']);
    expect(await addresses(lab, 'eth1')).toEqual(['10.0.1.20/24 noprefixroute']);
    expect(await rules(lab)).toEqual(['10001: from 10.0.1.20 lookup 10001 proto 234']);
    const { expected, seen } = await egress(lab, reduced);
    expect(seen).toEqual(expected);
  });
});
