import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeLab } from '../helpers/lab-gate';
import { createLab, type Lab } from '#local/lab/vpc-lab';
import { egress, eni, HOOK_ROOT, instance, rules, sync } from '#local/lab/scenario';

const hooks = {
  networkmanager: `${HOOK_ROOT}/etc/NetworkManager/dispatcher.d/90-eip-autopilot`,
  ifupdown: `${HOOK_ROOT}/etc/network/if-up.d/eip-autopilot`,
  dhclient: `${HOOK_ROOT}/etc/dhcp/dhclient-exit-hooks.d/eip-autopilot`,
  udev: `${HOOK_ROOT}/etc/udev/rules.d/90-eip-autopilot.rules`,
};

describeLab('Script: guest-sync.sh repair hooks', () => {
  let lab: Lab;
  beforeEach(async () => {
    lab = await createLab();
  });
  afterEach(async () => {
    await lab?.destroy();
  });

  const inst = instance(
    eni(1, { device: 0, subnet: 0, hosts: [10, 11] }),
    eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
  );
  /** Runs a shell command in the guest; the hook runs --settle inline here (no systemd), without its pause. */
  const sh = (cmd: string) => lab.exec(['sh', '-ec', cmd], { env: { EIP_AUTOPILOT_SETTLE: '0' } });
  const flush =
    'ip addr flush dev eth0; ip addr flush dev eth1; while ip rule del priority 10001 2>/dev/null; do :; done';

  it('--install puts a hook only where its manager is installed; --uninstall removes every one', async () => {
    await lab.apply(inst);
    expect((await sh(`mkdir -p ${HOOK_ROOT}/etc/NetworkManager ${HOOK_ROOT}/etc/udev`)).code).toBe(0);
    const res = await sync(lab, ['--install']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`install ${hooks.networkmanager}`);
    expect(res.stdout).toContain(`install ${hooks.udev}`);
    expect(res.stdout).toContain('install /etc/systemd/system/eip-autopilot-guest-sync-hook.path');
    expect(res.stdout).toContain(
      'enable /etc/systemd/system/multi-user.target.wants/eip-autopilot-guest-sync-hook.path',
    );
    expect(res.stdout).not.toContain(hooks.ifupdown);
    expect(res.stdout).not.toContain(hooks.dhclient);
    const udev = await lab.exec(['cat', hooks.udev]);
    // The rule's action is one command (the harness, which has no udevd, runs exactly that).
    expect(udev.stdout).toMatch(/RUN\+="\/usr\/local\/sbin\/eip-autopilot-guest-sync --trigger udev"/);
    expect((await lab.exec(['test', '-x', hooks.networkmanager])).code).toBe(0);
    const again = await sync(lab, ['--install']);
    expect(again.stdout.trim()).toBe('in sync unchanged=8');

    const un = await sync(lab, ['--uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(un.stdout).toContain(`remove ${hooks.networkmanager}`);
    expect(un.stdout).toContain(`remove ${hooks.udev}`);
    const left = await lab.exec(['sh', '-c', `find ${HOOK_ROOT} /etc/systemd/system /usr/local/sbin -type f`]);
    expect(left.stdout).toBe('');
  });

  it.each([
    ['networkmanager', `${hooks.networkmanager} eth1 up`],
    ['ifupdown', `IFACE=eth0 ${hooks.ifupdown}`],
    ['dhclient', `reason=BOUND; . ${hooks.dhclient}`],
    ['udev', '/usr/local/sbin/eip-autopilot-guest-sync --trigger udev'],
  ])('the %s hook repairs what the manager flushed', async (_, run) => {
    await lab.apply(inst);
    const dirs = 'NetworkManager/dispatcher.d network/if-up.d dhcp/dhclient-exit-hooks.d udev/rules.d';
    expect((await sh(`for d in ${dirs}; do mkdir -p ${HOOK_ROOT}/etc/$d; done`)).code).toBe(0);
    expect((await sync(lab, ['--install'])).code).toBe(0);
    // What ifdown/ifup or `nmcli con up` leave behind: DHCP's address and route back, ours gone.
    expect((await sh(flush)).code).toBe(0);
    await lab.apply(inst);
    expect(await rules(lab)).toEqual([]);
    const hook = await sh(run);
    expect(hook.code, hook.stderr).toBe(0);
    expect(hook.stderr).toContain('without systemd: syncing inline');
    const { expected, seen } = await egress(lab, inst);
    expect(seen).toEqual(expected);
  });
});
