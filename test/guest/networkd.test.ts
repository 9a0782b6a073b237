import { existsSync, readFileSync } from 'node:fs';
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

  it('writes networkd drop-ins under /run, and the state survives `networkctl reload`', async () => {
    expect(networkd, 'systemd-networkd is installed (CI installs it)').toBeDefined();
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
    );
    await lab.apply(inst);
    await startNetworkd(lab, inst);

    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('write /run/systemd/network/10-ens1.network.d/90-eip-autopilot.conf for eth1');
    const dropin = readFileSync(join(lab.runDir, 'systemd/network/10-ens1.network.d/90-eip-autopilot.conf'), 'utf8');
    expect(dropin).toContain('[RoutingPolicyRule]\nFrom=10.0.1.21/32\nTable=10001\nPriority=10001\n');

    const reload = await lab.exec(['sh', '-c', 'networkctl reload && networkctl reconfigure eth0 eth1 && sleep 1']);
    expect(reload.code, reload.stderr).toBe(0);
    expect(await addresses(lab, 'eth0')).toContain('10.0.0.11/32 noprefixroute');
    expect(await addresses(lab, 'eth1')).toEqual(['10.0.1.20/24 noprefixroute', '10.0.1.21/32 noprefixroute']);
    expect(await rules(lab)).toEqual(
      expect.arrayContaining([
        '10001: from 10.0.1.20 lookup 10001 proto static',
        '10001: from 10.0.1.21 lookup 10001 proto static',
      ]),
    );
    const { expected, seen } = await egress(lab, inst);
    expect(seen).toEqual(expected);

    const again = await sync(lab, ['--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, manager: 'networkd', writes: 0 });
  });

  it('an IP removed in IMDS leaves the drop-in and the kernel', async () => {
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
    expect(await rules(lab)).toEqual(['10001: from 10.0.1.20 lookup 10001 proto static']);
    const { expected, seen } = await egress(lab, reduced);
    expect(seen).toEqual(expected);
  });
});
