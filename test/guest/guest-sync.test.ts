import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeLab } from '../helpers/lab-gate';
import { createLab, type Lab } from '#local/lab/vpc-lab';
import { addresses, egress, eni, instance, routes, rules, snapshot, sync } from '#local/lab/scenario';

describeLab('Script: guest-sync.sh in the VPC lab', () => {
  let lab: Lab;
  beforeEach(async () => {
    lab = await createLab();
  });
  afterEach(async () => {
    await lab?.destroy();
  });

  async function expectAllEgress(inst: ReturnType<typeof instance>): Promise<void> {
    const { expected, seen } = await egress(lab, inst);
    expect(seen).toEqual(expected);
  }

  it('one ENI × 3 IPs: secondaries as /32 noprefixroute, no policy routing, every IP egresses as its EIP', async () => {
    const inst = instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12] }));
    await lab.apply(inst);
    const before = await snapshot(lab);
    const dry = await sync(lab, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would add 10.0.0.11/32 dev eth0');
    expect(await snapshot(lab)).toBe(before);

    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n').filter(Boolean)).toEqual([
      'add 10.0.0.11/32 dev eth0 reason=secondary-ip-missing',
      'add 10.0.0.12/32 dev eth0 reason=secondary-ip-missing',
    ]);
    expect(await addresses(lab, 'eth0')).toEqual([
      '10.0.0.10/24',
      '10.0.0.11/32 noprefixroute',
      '10.0.0.12/32 noprefixroute',
    ]);
    expect(await rules(lab)).toEqual([]);
    await expectAllEgress(inst);
  });

  it('two ENIs in one subnet: the second ENI gets its own table, rule per address, gateway base + 1', async () => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
      eni(2, { device: 1, subnet: 0, hosts: [20, 21] }),
    );
    await lab.apply(inst);
    // As DHCP on eth1 would: its primary address, no source routing. Its packets leave via eth0 and the VPC drops them.
    await lab.exec(['sh', '-ec', 'ip link set eth1 up; ip addr add 10.0.0.20/24 dev eth1 noprefixroute']);
    expect(await lab.egressIp('10.0.0.20')).toBe('');

    const res = await sync(lab, ['--verify', lab.echoUrl]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('add rule from 10.0.0.20 table 10001');
    expect(res.stdout).toContain('verify ok private=10.0.0.21 public=198.51.100.21');
    expect(await addresses(lab, 'eth1')).toEqual(['10.0.0.20/24 noprefixroute', '10.0.0.21/32 noprefixroute']);
    expect(await rules(lab)).toEqual([
      '10001: from 10.0.0.20 lookup 10001 proto 234',
      '10001: from 10.0.0.21 lookup 10001 proto 234',
    ]);
    expect(await routes(lab, 10001)).toEqual([
      'default via 10.0.0.1 dev eth1 proto 234',
      '10.0.0.0/24 dev eth1 proto 234 scope link',
    ]);
    // The main table keeps a single route to the subnet, through eth0.
    expect(await routes(lab, 'main')).toEqual([
      'default via 10.0.0.1 dev eth0',
      '10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.10',
    ]);
    await expectAllEgress(inst);
  });

  it('ENIs in two subnets and on a second network card: one table and priority per (card, device)', async () => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21, 22] }),
      eni(3, { device: 0, card: 1, subnet: 2, hosts: [30] }),
    );
    await lab.apply(inst);
    const res = await sync(lab, ['--json', '--verify', lab.echoUrl]);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout) as { ok: boolean; writes: number; verify: Array<{ ok: boolean }> };
    expect(summary.ok).toBe(true);
    expect(summary.verify).toHaveLength(6);
    expect(summary.verify.every((v) => v.ok)).toBe(true);
    expect(await rules(lab)).toEqual([
      '10001: from 10.0.1.20 lookup 10001 proto 234',
      '10001: from 10.0.1.21 lookup 10001 proto 234',
      '10001: from 10.0.1.22 lookup 10001 proto 234',
      '10100: from 10.0.2.30 lookup 10100 proto 234',
    ]);
    expect(await routes(lab, 10100)).toEqual([
      'default via 10.0.2.1 dev eth1x0 proto 234',
      '10.0.2.0/24 dev eth1x0 proto 234 scope link',
    ]);
    await expectAllEgress(inst);
  });

  it(
    'IPs added then removed in IMDS (and ENIs hot-attached then detached) follow IMDS; what remains ' + 'egresses',
    async () => {
      await lab.apply(instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11] })));
      expect((await sync(lab)).code).toBe(0);
      const full = instance(
        eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12] }),
        eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
        eni(3, { device: 2, subnet: 1, hosts: [40] }),
      );
      await lab.apply(full);
      const grown = await sync(lab);
      expect(grown.code, grown.stderr).toBe(0);
      expect(grown.stdout).toContain('add 10.0.0.12/32 dev eth0');
      expect(grown.stdout).toContain('add rule from 10.0.1.40 table 10002');
      await expectAllEgress(full);

      const reduced = instance(
        eni(1, { device: 0, subnet: 0, hosts: [10, 12] }),
        eni(2, { device: 1, subnet: 1, hosts: [20] }),
      );
      await lab.apply(reduced);
      const res = await sync(lab);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('del 10.0.0.11/32 dev eth0 reason=ip-no-longer-assigned');
      expect(res.stdout).toContain('del 10.0.1.21/32 dev eth1 reason=ip-no-longer-assigned');
      expect(res.stdout).toContain('del rule from 10.0.1.40 table 10002 reason=rule-not-wanted');
      expect(await addresses(lab, 'eth0')).toEqual(['10.0.0.10/24', '10.0.0.12/32 noprefixroute']);
      expect(await addresses(lab, 'eth1')).toEqual(['10.0.1.20/24 noprefixroute']);
      expect(await rules(lab)).toEqual(['10001: from 10.0.1.20 lookup 10001 proto 234']);
      await expectAllEgress(reduced);
    },
  );

  it('never touches a foreign address, a foreign rule, a docker-like bridge or the loopback', async () => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
      eni(2, { device: 1, subnet: 1, hosts: [20] }),
    );
    await lab.apply(inst);
    const foreign = [
      'ip addr add 192.168.77.5/24 dev eth0',
      'ip addr add 10.0.0.99/32 dev eth0',
      'ip addr add 127.0.0.2/8 dev lo',
      'ip link add docker0 type bridge',
      'ip addr add 172.17.0.1/16 dev docker0',
      'ip link set docker0 up',
      'ip rule add from 172.17.0.0/16 lookup main priority 5000',
      'ip rule add from 10.9.9.9 lookup 10001 priority 10001',
    ];
    expect((await lab.exec(['sh', '-ec', foreign.join('\n')])).code).toBe(0);
    expect((await sync(lab)).code).toBe(0);
    // Shrink IMDS so the run has something to remove; only the recorded address goes.
    await lab.apply(
      instance(eni(1, { device: 0, subnet: 0, hosts: [10] }), eni(2, { device: 1, subnet: 1, hosts: [20] })),
    );
    const res = await sync(lab);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n').filter(Boolean)).toEqual(['del 10.0.0.11/32 dev eth0 reason=ip-no-longer-assigned']);
    expect(await addresses(lab, 'eth0')).toEqual(['10.0.0.10/24', '192.168.77.5/24', '10.0.0.99/32']);
    expect(await addresses(lab, 'docker0')).toEqual(['172.17.0.1/16']);
    expect(await addresses(lab, 'lo')).toEqual(['127.0.0.1/8', '127.0.0.2/8']);
    expect(await rules(lab)).toEqual([
      '5000: from 172.17.0.0/16 lookup main',
      '10001: from 10.9.9.9 lookup 10001',
      '10001: from 10.0.1.20 lookup 10001 proto 234',
    ]);
  });

  it.each(['down', 'garbage'] as const)('IMDS %s: exits 2 and changes nothing', async (mode) => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
    );
    await lab.apply(inst);
    expect((await sync(lab)).code).toBe(0);
    await lab.apply(
      instance(eni(1, { device: 0, subnet: 0, hosts: [10] }), eni(2, { device: 1, subnet: 1, hosts: [20] })),
    );
    await lab.setImds(mode);
    const before = await snapshot(lab);
    const res = await sync(lab, ['--json']);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 2, writes: 0 });
    expect(res.stderr).toMatch(/IMDS/);
    expect(await snapshot(lab)).toBe(before);
    // Nothing removed: the addresses the VPC still routes keep working.
    await expectAllEgress(
      instance(eni(1, { device: 0, subnet: 0, hosts: [10] }), eni(2, { device: 1, subnet: 1, hosts: [20] })),
    );
  });

  it('two concurrent runs never interleave: one applies, the other finds the guest in sync', async () => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12, 13] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21, 22] }),
    );
    await lab.apply(inst);
    const [a, b] = await Promise.all([sync(lab, ['--json']), sync(lab, ['--json'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stderr + b.stderr).not.toMatch(/error|File exists/);
    const writes = [a, b].map((r) => (JSON.parse(r.stdout) as { writes: number }).writes).sort((x, y) => x - y);
    expect(writes[0]).toBe(0);
    expect(writes[1]).toBeGreaterThan(0);
    await expectAllEgress(inst);
  });

  it('a second run makes zero kernel writes (ip monitor sees nothing)', async () => {
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12] }),
      eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
    );
    await lab.apply(inst);
    expect((await sync(lab)).code).toBe(0);
    const monitor = await lab.spawn(['sh', '-c', 'exec ip -4 monitor link address route rule > /run/monitor.log']);
    await new Promise((r) => setTimeout(r, 200));
    const res = await sync(lab, ['--json']);
    await new Promise((r) => setTimeout(r, 200));
    await monitor.stop();
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ writes: 0, added: [], removed: [], unchanged: 9 });
    expect(readFileSync(join(lab.runDir, 'monitor.log'), 'utf8')).toBe('');
  });

  it(
    '--install is idempotent; after a reboot the installed unit restores the state; --uninstall removes it ' + 'all',
    async () => {
      const inst = instance(
        eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
        eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
      );
      await lab.apply(inst);
      const first = await sync(lab, ['--install']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('install /usr/local/sbin/eip-autopilot-guest-sync');
      expect(first.stdout).toContain('enable /etc/systemd/system/timers.target.wants/eip-autopilot-guest-sync.timer');
      const again = await sync(lab, ['--install']);
      expect(again.stdout.trim()).toBe('in sync unchanged=8');
      const unit = readFileSync(join(lab.unitDir, 'eip-autopilot-guest-sync.service'), 'utf8');
      expect(unit).toMatch(/After=network-online.target/);
      const timer = readFileSync(join(lab.unitDir, 'eip-autopilot-guest-sync.timer'), 'utf8');
      expect(timer).toMatch(/OnBootSec=/);
      expect(timer).toMatch(/OnUnitActiveSec=60s/);

      // Reboot: /run is a fresh tmpfs, the ENIs come back bare and DHCP configures eth0 again.
      const reboot = [
        'find /run -mindepth 1 -delete',
        'ip rule del priority 10001',
        'ip rule del priority 10001',
        'ip addr flush dev eth0',
        'ip addr flush dev eth1',
        'ip link set eth1 down',
      ];
      expect((await lab.exec(['sh', '-ec', reboot.join('\n')])).code).toBe(0);
      await lab.apply(inst);
      const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1] ?? '';
      expect(execStart).toBe('/usr/local/sbin/eip-autopilot-guest-sync');
      const boot = await lab.exec([execStart]);
      expect(boot.code, boot.stderr).toBe(0);
      expect(await rules(lab)).toHaveLength(2);
      await expectAllEgress(inst);

      const un = await sync(lab, ['--uninstall']);
      expect(un.code, un.stderr).toBe(0);
      expect(await rules(lab)).toEqual([]);
      expect(await addresses(lab, 'eth0')).toEqual(['10.0.0.10/24']);
      expect(await routes(lab, 10001)).toEqual([]);
      expect(
        (await lab.exec(['ls', '-A', '/etc/systemd/system', '/usr/local/sbin'])).stdout
          .split('\n')
          .filter((l) => l && !l.endsWith(':')),
      ).toEqual([]);
    },
  );

  it(
    'a hot-attached ENI whose device-number still reads 0 is waited for; past the wait: exit 3, no ' + 'change',
    async () => {
      const settled = instance(
        eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
        eni(2, { device: 1, subnet: 1, hosts: [20] }),
      );
      const racing = structuredClone(settled);
      if (racing.enis[1]) racing.enis[1].imdsDeviceNumber = 0;
      await lab.apply(racing);
      const before = await snapshot(lab);
      const refused = await sync(lab, [], { EIP_AUTOPILOT_ENI_WAIT: '1' });
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('device-number-0');
      expect(await snapshot(lab)).toBe(before);

      const waiting = sync(lab, [], { EIP_AUTOPILOT_ENI_WAIT: '20' });
      await new Promise((r) => setTimeout(r, 1500));
      await lab.apply(settled);
      const res = await waiting;
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain('waiting for ENI');
      expect(await rules(lab)).toEqual(['10001: from 10.0.1.20 lookup 10001 proto 234']);
      await expectAllEgress(settled);
    },
  );

  it(
    'under amazon-ec2-net-utils only verifies: exit 8 while its state differs, 0 once it matches, never ' + 'writes',
    async () => {
      const inst = instance(
        eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
        eni(2, { device: 1, subnet: 1, hosts: [20] }),
      );
      await lab.apply(inst);
      const env = { EIP_AUTOPILOT_MANAGER: 'netutils' };
      const before = await snapshot(lab);
      const differs = await sync(lab, ['--json'], env);
      expect(differs.code).toBe(8);
      expect(JSON.parse(differs.stdout)).toMatchObject({ manager: 'netutils', writes: 0 });
      expect(differs.stderr).toContain('refresh amazon-ec2-net-utils for eth0');
      expect(differs.stderr).toContain('refresh amazon-ec2-net-utils for eth1');
      expect(await snapshot(lab)).toBe(before);
      // Once the interfaces are right (here: by our own ip-mode run), the check passes.
      expect((await sync(lab)).code).toBe(0);
      const matches = await sync(lab, ['--json'], env);
      expect(matches.code, matches.stderr).toBe(0);
      expect(JSON.parse(matches.stdout)).toMatchObject({ ok: true, manager: 'netutils', writes: 0 });
    },
  );

  it('keeps its report inside the SSM output window on a first apply of 350 addresses', async () => {
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const inst = instance(
      eni(1, { device: 0, subnet: 0, hosts: range(10, 200) }),
      eni(2, { device: 1, subnet: 1, hosts: range(10, 150) }),
    );
    await lab.apply(inst);
    const dry = await sync(lab, ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.length).toBeLessThan(24_000);
    expect(dry.stdout).toMatch(/\.\.\. \d+ more lines not shown\n$/);
    const res = await sync(lab, ['--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.length).toBeLessThan(24_000);
    const summary = JSON.parse(res.stdout) as { addedCount: number; added: string[]; writes: number };
    expect(summary.addedCount).toBe(199 + 1 + 149 + 2 + 150 + 1);
    expect(summary.added).toHaveLength(100);
    expect(summary.writes).toBe(summary.addedCount);
    expect(await lab.egressIp('10.0.1.159')).toBe('203.0.113.159');
  });

  it('--verify fails with exit 5 when the echo service does not see the EIP', async () => {
    const inst = instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11] }));
    await lab.apply(inst);
    const res = await sync(lab, ['--verify', 'http://192.0.2.80:81/']);
    expect(res.code).toBe(5);
    expect(res.stderr).toContain('verify mismatch private=10.0.0.10 expected=198.51.100.10 observed=none');
  });
});
