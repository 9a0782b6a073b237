/** Scenario builders and kernel readers shared by the guest tests and bench/guest.ts. */
import { join } from 'node:path';
import type { ExecResult, Lab, LabEni, LabInstance } from '../lab/vpc-lab.js';

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

/** Runs guest-sync.sh in the guest. */
export function sync(lab: Lab, args: string[] = [], env?: Record<string, string>): Promise<ExecResult> {
  return lab.exec(['bash', SCRIPT, ...args], { env, timeoutMs: 60_000 });
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
export async function egress(lab: Lab, inst: LabInstance): Promise<{ expected: Record<string, string>; seen: Record<string, string> }> {
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
