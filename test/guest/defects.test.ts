import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeLab } from '../helpers/lab-gate';
import { createLab, type Lab } from '#local/lab/vpc-lab';
import { addresses, egress, eni, instance, SCRIPT, snapshot, sync } from '#local/lab/scenario';

/** Guest defects D1–D9 seen on booted guests, each reproduced in the VPC lab (no real manager needed here). */
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

  /**
   * amazon-ec2-net-utils as a booted AL2023 guest shows it to guest-sync: its unit file installed (bind-mounted over
   * /usr/lib/systemd/system inside this one command), systemd running, and `systemctl` answering from files:
   * `/run/fake-units/<unit>` holds the state `is-active` prints; `start --no-block` runs `/run/fake-refresh` (what
   * the refresh would do) in the background; a blocking `start` hangs, as it was seen to.
   */
  async function withNetutils(opts: { active: boolean; refresh?: string }): Promise<void> {
    const systemctl = `#!/bin/sh
echo "$*" >>/run/systemctl.log
case "$1" in
  is-active) shift; for u in "$@"; do cat "/run/fake-units/$u" 2>/dev/null || echo inactive; done ;;
  start) [ "$2" = --no-block ] || exec sleep 600; [ -x /run/fake-refresh ] && { /run/fake-refresh & } ;;
esac
exit 0
`;
    writeFileSync(join(lab.sbinDir, 'systemctl'), systemctl, { mode: 0o755 });
    const setup = ['mkdir -p /run/systemd/system /run/fake-units /run/fake-lib', ': >/run/systemctl.log'];
    setup.push('touch /run/fake-lib/refresh-policy-routes@.service /run/fake-lib/policy-routes@.service');
    if (opts.active) {
      for (const dev of ['eth0', 'eth1']) setup.push(`echo active >/run/fake-units/policy-routes@${dev}.service`);
    }
    expect((await lab.exec(['sh', '-ec', setup.join('\n')])).code).toBe(0);
    if (opts.refresh) writeFileSync(join(lab.runDir, 'fake-refresh'), `#!/bin/sh\n${opts.refresh}\n`, { mode: 0o755 });
  }
  function syncUnderNetutils(args: string[] = [], env: Record<string, string> = {}) {
    return lab.exec(
      ['sh', '-c', 'mount --bind /run/fake-lib /usr/lib/systemd/system && exec bash "$0" "$@"', SCRIPT, ...args],
      { env, timeoutMs: 45_000 },
    );
  }
  /** What amazon-ec2-net-utils configures for eth1 (10.0.1.20/24, 10.0.1.21): its table 10001, its own rules. */
  const netutilsState = [
    'ip link set eth1 up',
    'ip addr add 10.0.1.20/24 dev eth1 noprefixroute',
    'ip addr add 10.0.1.21/32 dev eth1 noprefixroute',
    'ip addr add 10.0.0.11/32 dev eth0 noprefixroute',
    'ip route add 10.0.1.0/24 dev eth1 table 10001 proto static scope link',
    'ip route add default via 10.0.1.1 dev eth1 table 10001 proto static',
    'ip rule add from 10.0.1.20 lookup 10001 priority 10001',
    'ip rule add from 10.0.1.21 lookup 10001 priority 10001',
  ].join('\n');
  const twoEnis = instance(
    eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
    eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
  );

  it('D6: under amazon-ec2-net-utils, once its state matches IMDS, guest-sync writes nothing at all', async () => {
    await lab.apply(twoEnis);
    expect((await lab.exec(['sh', '-ec', netutilsState])).code).toBe(0);
    const before = await snapshot(lab);
    const res = await sync(lab, ['--json'], { EIP_AUTOPILOT_MANAGER: 'netutils' });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, manager: 'netutils', writes: 0, added: [] });
    expect(await snapshot(lab)).toBe(before);
    const { expected, seen } = await egress(lab, twoEnis);
    expect(seen).toEqual(expected);
  });

  it(
    'D7: amazon-ec2-net-utils installed but not in use (its units inactive): guest-sync does the job ' + 'itself',
    async () => {
      await lab.apply(twoEnis);
      await withNetutils({ active: false });
      const res = await syncUnderNetutils(['--json']);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, manager: 'ip' });
      const { expected, seen } = await egress(lab, twoEnis);
      expect(seen).toEqual(expected);
    },
  );

  it('D8: the refresh is started without blocking and waited for a bounded time, then exit 8', async () => {
    await lab.apply(twoEnis);
    await withNetutils({ active: true });
    const res = await syncUnderNetutils(['--json'], { EIP_AUTOPILOT_NETUTILS_WAIT: '2' });
    expect(res.code, res.stderr).toBe(8);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 8, manager: 'netutils', writes: 0 });
    const calls = readFileSync(join(lab.runDir, 'systemctl.log'), 'utf8');
    expect(calls).toContain('start --no-block refresh-policy-routes@eth1.service');
    expect(calls).not.toMatch(/^start refresh/m);
  });

  it('D9: right after boot, while amazon-ec2-net-utils settles, the run waits for it and succeeds', async () => {
    await lab.apply(twoEnis);
    // Its refresh finishes a second after it was started.
    await withNetutils({ active: true, refresh: `sleep 1\n${netutilsState} 2>/dev/null || true` });
    const res = await syncUnderNetutils(['--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, manager: 'netutils' });
    const { expected, seen } = await egress(lab, twoEnis);
    expect(seen).toEqual(expected);
  });

  it.each([
    ['the agent names the instance', { AWS_SSM_INSTANCE_ID: 'i-0eaa0000000000001' }],
    ['the agent names the region', { AWS_SSM_REGION_NAME: 'eu-west-1' }],
  ])(
    'an SSM agent too old to pass parameters (%s, no SSM_Action): exit 9 with the reason, no change',
    async (_, env) => {
      await lab.apply(instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11] })));
      const before = await snapshot(lab);
      const old = await sync(lab, [], env);
      expect(old.code).toBe(9);
      expect(old.stderr).toContain('SSM Agent older than 3.3.2746.0');
      expect(await snapshot(lab)).toBe(before);
      const current = await sync(lab, [], { ...env, SSM_Action: 'sync', SSM_DryRun: 'false', SSM_Output: 'text' });
      expect(current.code, current.stderr).toBe(0);
      expect(current.stdout).toContain('add 10.0.0.11/32 dev eth0');
    },
  );

  it('a layout whose manager undoes every change at once: exit 10 naming it, never "in sync"', async () => {
    await lab.apply(instance(eni(1, { device: 0, subnet: 0, hosts: [10, 11] })));
    // A manager guest-sync has no hook for, deleting any address it did not configure within 50 ms.
    const fighter = await lab.spawn([
      'sh',
      '-c',
      'touch /run/fighter.ready; while :; do ip addr del 10.0.0.11/32 dev eth0 2>/dev/null; sleep 0.05; done',
    ]);
    while (!existsSync(join(lab.runDir, 'fighter.ready'))) await new Promise((r) => setTimeout(r, 50));
    const res = await sync(lab, ['--json']);
    await fighter.stop();
    expect(res.code, res.stderr + res.stdout).toBe(10);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 10, manager: 'ip' });
    expect(res.stderr).toContain('layout not handled: manager=ip');
    expect(res.stderr).toContain('add 10.0.0.11/32 dev eth0');
  });
});
