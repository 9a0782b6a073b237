import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeLab } from '../helpers/lab-gate';
import { createLab, type Lab } from '#local/lab/vpc-lab';
import { addresses, egress, eni, instance, routes, startNetworkd, sync } from '#local/lab/scenario';

const twoEnis = instance(
  eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
  eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
);
const common = 'LinkLocalAddressing=no\nIPv6AcceptRA=no\n';
const eth0Match = '[Match]\nMACAddress=02:ea:00:00:00:01\n\n';
const eth0File = `${eth0Match}[Network]\nAddress=10.0.0.10/24\nGateway=10.0.0.1\n${common}`;

/**
 * Layouts of systemd-networkd that booted guests showed to break guest-sync (defects D3–D5), with networkd running
 * for real in the lab. `networkctl` is wrapped to log every call, so a test can see what guest-sync asked of it.
 */
describeLab('Script: guest-sync.sh on systemd-networkd layouts', () => {
  let lab: Lab;
  beforeEach(async () => {
    lab = await createLab();
    writeFileSync(
      join(lab.sbinDir, 'networkctl'),
      '#!/bin/sh\necho "$*" >>/run/networkctl.log\nexec /usr/bin/networkctl "$@"\n',
      { mode: 0o755 },
    );
  });
  afterEach(async () => {
    await lab?.destroy();
  });

  function networkctlCalls(): string {
    try {
      return readFileSync(join(lab.runDir, 'networkctl.log'), 'utf8');
    } catch {
      return '';
    }
  }

  it(
    'D3: both ENIs with a default route in main: the primary is never reconfigured, its IPs leave through ' + 'it',
    async () => {
      await lab.apply(twoEnis);
      // eth1's default route in main comes first (as when its DHCP lease lands before eth0's at equal metrics).
      const eth1File =
        '[Match]\nMACAddress=02:ea:00:00:00:02\n\n' +
        `[Network]\nAddress=10.0.1.20/24\n${common}\n` +
        '[Route]\nGateway=10.0.1.1\nMetric=100\n';
      await startNetworkd(lab, twoEnis, { files: { '10-ens0.network': eth0File, '10-ens1.network': eth1File } });
      const monitor = await lab.spawn(['sh', '-c', 'exec ip monitor address route > /run/monitor.log']);
      await new Promise((r) => setTimeout(r, 200));
      const res = await sync(lab);
      await new Promise((r) => setTimeout(r, 300));
      await monitor.stop();
      expect(res.code, res.stderr).toBe(0);
      expect(networkctlCalls()).not.toMatch(/reconfigure.*eth0|reload/);
      const log = readFileSync(join(lab.runDir, 'monitor.log'), 'utf8');
      expect(log).not.toMatch(/^Deleted .*10\.0\.0\.10\/24/m);
      expect(log).not.toMatch(/^Deleted default via 10\.0\.0\.1 dev eth0/m);
      expect(await routes(lab, 10000)).toEqual([
        'default via 10.0.0.1 dev eth0 proto 234',
        '10.0.0.0/24 dev eth0 proto 234 scope link',
      ]);
      const { expected, seen } = await egress(lab, twoEnis);
      expect(seen).toEqual(expected);
    },
  );

  it('D4: networkd manages eth0, eth1 is unmanaged: one run makes every EIP work', async () => {
    await lab.apply(twoEnis);
    await startNetworkd(lab, twoEnis, { files: { '10-ens0.network': eth0File }, managed: 1 });
    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    const { expected, seen } = await egress(lab, twoEnis);
    expect(seen).toEqual(expected);
    const again = await sync(lab, ['--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, writes: 0 });
  });

  it('D5: one shared wildcard .network file: each ENI keeps its own addresses, every EIP works', async () => {
    await lab.apply(twoEnis);
    const wildcard = `[Match]\nName=eth*\n\n[Network]\n${common}`;
    await lab.exec(['ip', 'addr', 'flush', 'dev', 'eth0']);
    await startNetworkd(lab, twoEnis, { files: { '10-all.network': wildcard } });
    // The wildcard file declares no address: eth0's comes back as from DHCP.
    await lab.apply(twoEnis);
    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(await addresses(lab, 'eth0')).toEqual(['10.0.0.10/24', '10.0.0.11/32 noprefixroute']);
    expect(await addresses(lab, 'eth1')).toEqual(['10.0.1.20/24 noprefixroute', '10.0.1.21/32 noprefixroute']);
    const { expected, seen } = await egress(lab, twoEnis);
    expect(seen).toEqual(expected);
  });
});
