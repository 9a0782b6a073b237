/** Scenario builders and kernel readers shared by the guest tests and bench/guest.ts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExecResult, type Lab, type LabEni, type LabInstance, subnetGateway } from './vpc-lab';

export const SCRIPT = join(import.meta.dirname, '..', '..', 'ssm-documents', 'guest-sync.sh');

/** A MAC for ENI number n (locally administered, like EC2's 02:…/0e:… MACs). */
export function mac(n: number): string {
  return `02:ea:00:00:00:${n.toString(16).padStart(2, '0')}`;
}

/**
 * An ENI whose every private IP has an EIP: `10.0.<subnet>.<host>` ↔ `198.51.100.<host>` on subnet 0,
 * `203.0.113.<host>` otherwise (EIP host parts must be unique across the instance).
 */
export function eni(
  n: number,
  opts: { device: number; card?: number; subnet: number; hosts: number[]; withoutEip?: number[] },
): LabEni {
  const ips = opts.hosts.map((h) => `10.0.${opts.subnet}.${h}`);
  const publicIps: Record<string, string> = {};
  for (const h of opts.hosts) {
    if (opts.withoutEip?.includes(h)) continue;
    publicIps[`10.0.${opts.subnet}.${h}`] = `${opts.subnet === 0 ? '198.51.100' : '203.0.113'}.${h}`;
  }
  return {
    mac: mac(n),
    interfaceId: `eni-0${n.toString(16).padStart(16, '0')}`,
    deviceNumber: opts.device,
    networkCard: opts.card ?? 0,
    subnetCidr: `10.0.${opts.subnet}.0/24`,
    privateIps: ips,
    publicIps,
  };
}

export function instance(...enis: LabEni[]): LabInstance {
  return { instanceId: 'i-0eaa0000000000001', enis };
}

/**
 * Where `--install` puts the managers' hook files in the lab: under the guest's private /run, never the host's /etc
 * (a hook is installed only where its manager's /etc directory exists, so tests create those under this root).
 */
export const HOOK_ROOT = '/run/hook-root';

/** Runs guest-sync.sh in the guest. */
export function sync(lab: Lab, args: string[] = [], env?: Record<string, string>): Promise<ExecResult> {
  return lab.exec(['bash', SCRIPT, ...args], {
    env: { EIP_AUTOPILOT_HOOK_ROOT: HOOK_ROOT, ...env },
    timeoutMs: 60_000,
  });
}

/** Addresses of a guest interface as `ip/len[ noprefixroute]`. */
export async function addresses(lab: Lab, dev: string): Promise<string[]> {
  const { stdout } = await lab.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', dev]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /inet (\S+) .*?(noprefixroute)?\s+\S+\\/.exec(l);
      return m ? `${m[1]}${m[2] ? ' noprefixroute' : ''}` : l;
    });
}

/** Policy rules other than the kernel's three defaults, as printed by `ip -4 rule`. */
export async function rules(lab: Lab): Promise<string[]> {
  const { stdout } = await lab.exec(['ip', '-4', 'rule', 'show']);
  return stdout
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l && !/^(0|32766|32767): from all lookup (local|main|default)$/.test(l));
}

export async function routes(lab: Lab, table: number | string): Promise<string[]> {
  const { stdout } = await lab.exec(['ip', '-4', 'route', 'show', 'table', String(table)]);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Everything the script could touch, for "nothing changed" assertions. */
export async function snapshot(lab: Lab): Promise<string> {
  const { stdout } = await lab.exec([
    'sh',
    '-c',
    'ip -4 -o addr show; ip -o link show | sed "s/ state .*//"; ip -4 rule show; ip -4 route show table all',
  ]);
  return stdout;
}

/** Every private IP with an EIP, mapped to what the echo server saw when that IP called out. */
export async function egress(
  lab: Lab,
  inst: LabInstance,
): Promise<{ expected: Record<string, string>; seen: Record<string, string> }> {
  const expected: Record<string, string> = {};
  const seen: Record<string, string> = {};
  for (const e of inst.enis) {
    for (const [priv, eip] of Object.entries(e.publicIps)) {
      expected[priv] = eip;
      seen[priv] = await lab.egressIp(priv);
    }
  }
  return { expected, seen };
}

/**
 * Runs systemd-networkd (and the D-Bus system bus networkctl needs) inside the guest, managing each ENI through its
 * own `.network` file matched by MAC, like netplan or amazon-ec2-net-utils write them. eth0 gets its address and
 * gateway from its file, standing in for DHCP. Resolves once networkd has configured every link.
 * `opts.files` replaces those files (name → content) for other layouts (one wildcard file, eth0 only, ...);
 * `opts.managed` is then how many links networkd must configure (default: every ENI).
 */
export async function startNetworkd(
  lab: Lab,
  inst: LabInstance,
  opts: { files?: Record<string, string>; managed?: number } = {},
): Promise<void> {
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(lab.networkDir, name), content);
  for (const e of opts.files ? [] : inst.enis) {
    const primary = e.deviceNumber === 0 && e.networkCard === 0;
    const len = e.subnetCidr.split('/')[1];
    const network = primary ? `Address=${e.privateIps[0]}/${len}\nGateway=${subnetGateway(e.subnetCidr)}\n` : '';
    writeFileSync(
      join(lab.networkDir, `10-ens${e.deviceNumber}.network`),
      `[Match]\nMACAddress=${e.mac}\n\n[Network]\n${network}LinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    );
  }
  // networkd replaces eth0's "DHCP" address with its own configuration.
  await lab.exec(['ip', 'addr', 'flush', 'dev', 'eth0']);
  await lab.spawn(['sh', '-c', 'mkdir -p /run/dbus && exec dbus-daemon --system --nofork --nopidfile']);
  // networkd runs as systemd-network; a read-only /sys tells it there is no udev to wait for (as in containers).
  await lab.spawn([
    'sh',
    '-c',
    'mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp && ' +
      'chown -R systemd-network:systemd-network /run/systemd/netif && mount -o remount,bind,ro /sys && ' +
      'exec /lib/systemd/systemd-networkd 2>/run/networkd.log',
  ]);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await lab.exec(['sh', '-c', 'grep -h ^ADMIN_STATE= /run/systemd/netif/links/* 2>/dev/null']);
    const states = res.stdout.split('\n').filter(Boolean);
    if (states.filter((s) => s === 'ADMIN_STATE=configured').length >= (opts.managed ?? inst.enis.length)) return;
    if (Date.now() > deadline) throw new Error(`systemd-networkd did not configure the links: ${res.stdout}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
