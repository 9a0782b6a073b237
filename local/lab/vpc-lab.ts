/**
 * The VPC lab: an EC2 guest, its VPC and the internet, built from network namespaces the lab creates and always
 * deletes. Three namespaces per lab, named `eipa-<id>-{guest,vpc,net}` from a unique lab id (pid in base 36 + a
 * counter); every interface lives inside them, so interface names never appear on the host.
 *
 * ```
 *  guest ns                         vpc ns (VPC router + internet gateway)            net ns
 *  eth<dev> ──veth── r<mac hex>   gateway <subnet base+1>/32 on every ENI port        wan 192.0.2.80
 *  (MAC of the ENI)               /32 route + permanent neighbour per private IP    echo server :80
 *                                 anti-spoofing: drop a source not assigned to the ENI
 *                                 IGW: 1:1 NAT private IP ↔ EIP, no NAT → no internet
 *                                 IMDSv2 server on 169.254.169.254:80          ── wan 192.0.2.1/24 ──
 *                                 with `dhcp`: a dnsmasq DHCP server per ENI port
 * ```
 *
 * Without `dhcp`, `apply()` configures eth0's primary address and default route itself, as a DHCP client would; with
 * `dhcp` (the booted guests), the guest's own network manager gets them from the router, as on EC2.
 *
 * Commands run in the guest (`exec`, `spawn`) get a private mount namespace where /run, /etc/systemd/system,
 * /etc/systemd/network and /usr/local/sbin are per-lab directories under `.lab-runtime/<id>/`: the guest script can
 * `--install`, keep its /run state and run systemd-networkd without ever touching the host's own files.
 */
import { type ChildProcess, execFile, execFileSync, spawn as spawnChild } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ExecOptions, type ExecResult, execChild } from './exec';
import type { ImdsState } from './lab-server';
import { intToIpv4, ipv4ToInt } from '#src/ipv4';
import type { GuestEni, GuestNetwork } from '../region/model/index';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const serverScript = join(here, 'lab-server.ts');

/** One ENI as the lab builds it: the region's `GuestEni`. */
export type LabEni = GuestEni;

/** The instance the lab builds: the region's `GuestNetwork` (card 0 / device 0 is eth0). */
export type LabInstance = GuestNetwork;

export type { ExecOptions, ExecResult } from './exec';

/** A long-running process inside the guest (started with `Lab.spawn`); stopped by `stop()` or `destroy()`. */
export interface LabProcess {
  readonly pid: number;
  stop(): Promise<void>;
}

export interface Lab {
  readonly id: string;
  readonly guestNs: string;
  readonly vpcNs: string;
  readonly netNs: string;
  /** Echo server URL as reachable from the guest. */
  readonly echoUrl: string;
  /** Per-lab directory mounted on /run inside the guest. */
  readonly runDir: string;
  /** Per-lab directories mounted on /etc/systemd/system, /etc/systemd/network, /usr/local/sbin inside the guest. */
  readonly unitDir: string;
  readonly networkDir: string;
  readonly sbinDir: string;
  /**
   * Makes the lab's "hardware" match: guest NICs by MAC (hot-attach/detach), eth0's primary address and default
   * route as DHCP would, IMDS content, router anti-spoofing, IGW NAT. Never configures secondary addresses or source
   * routing in the guest: that is the guest script's job.
   */
  apply(instance: LabInstance): Promise<void>;
  /**
   * Deletes the guest namespace (and with it every guest end of the ENI veths) and builds a fresh one with the same
   * ENIs: what a stopped-then-started instance sees. The caller stops whatever runs in the guest first.
   */
  resetGuest(): Promise<void>;
  /** Per ENI port (router side), the DHCP lease file of its dnsmasq (`dhcp` labs only). */
  leaseFile(mac: string): string;
  /** `down`: connections to IMDS are refused; `garbage`: IMDS answers malformed addresses and subnets. */
  setImds(mode: 'ok' | 'down' | 'garbage'): Promise<void>;
  /** Runs argv inside the guest namespace (with the lab's private mounts). */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running process inside the guest; killed at `destroy()`. */
  spawn(argv: string[], opts?: { env?: Record<string, string> }): Promise<LabProcess>;
  /** `curl --interface <privateIp> echoUrl` from the guest: the public address the internet saw, '' if none. */
  egressIp(privateIp: string): Promise<string>;
  /** Idempotent; also registered for process exit and signals. */
  destroy(): Promise<void>;
}

/** Whether this process can build a lab: root, network namespaces and the tools. */
export function labAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'the VPC lab needs root (network namespaces)' };
  for (const [cmd, ...args] of [
    ['ip', 'netns', 'list'],
    ['nft', '--version'],
    ['curl', '--version'],
    ['unshare', '--version'],
    ['flock', '--version'],
  ] as const) {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch {
      return { ok: false, why: `the VPC lab needs \`${cmd}\` (scripts/setup.sh installs it as root)` };
    }
  }
  return { ok: true };
}

const live = new Set<LabImpl>();
let counter = 0;
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const lab of live) lab.destroySync();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a lab left `path` behind: its process is gone AND it is older than an hour. The age guard protects a live lab
 * of a process this one cannot see (another PID namespace on a shared machine); no lab lives that long.
 */
function orphaned(pid36: string, path: string): boolean {
  if (processAlive(Number.parseInt(pid36, 36))) return false;
  try {
    return Date.now() - statSync(path).mtimeMs > 3_600_000;
  } catch {
    return false;
  }
}

/** Deletes namespaces and runtime directories left by labs whose process died without cleaning up (SIGKILL). */
function sweepOrphans(): void {
  const runtimeRoot = join(repoRoot, '.lab-runtime');
  if (existsSync(runtimeRoot)) {
    for (const entry of readdirSync(runtimeRoot)) {
      const m = /^([0-9a-z]+)x\d+$/.exec(entry);
      const dir = join(runtimeRoot, entry);
      if (m?.[1] && orphaned(m[1], dir)) rmSync(dir, { recursive: true, force: true });
    }
  }
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(eipa-([0-9a-z]+)x\d+-(guest|vpc|net))\b/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    if (!orphaned(m[2], `/run/netns/${m[1]}`)) continue;
    try {
      execFileSync('ip', ['netns', 'del', m[1]], { stdio: 'ignore' });
    } catch {
      // Another process may be deleting it at the same time.
    }
  }
}

/** Builds a lab: namespaces, the VPC/IGW, the echo and IMDS servers. Call `apply()` to give it an instance. */
export interface LabOptions {
  id?: string;
  /** Serve the primary address of every ENI by DHCP from the router (dnsmasq) instead of configuring it. */
  dhcp?: boolean;
  /** DHCP lease time (dnsmasq's minimum is 120 s); default 3600 s, as on EC2. */
  dhcpLeaseSeconds?: number;
}

/** Whether `dnsmasq` (Debian package dnsmasq-base) is installed: needed by `dhcp` labs. */
export function dnsmasqAvailable(): boolean {
  return existsSync(DNSMASQ);
}

const DNSMASQ = '/usr/sbin/dnsmasq';

export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const avail = labAvailable();
  if (!avail.ok) throw new Error(avail.why);
  installExitHooks();
  sweepOrphans();
  counter += 1;
  const lab = new LabImpl(opts.id ?? `${process.pid.toString(36)}x${counter}`, opts);
  live.add(lab);
  try {
    await lab.build();
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

const WAN_ROUTER = '192.0.2.1';
const WAN_ECHO = '192.0.2.80';

/** The VPC router: subnet base + 1. */
export function subnetGateway(cidr: string): string {
  const [net = '', len = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return intToIpv4(Math.floor(ipv4ToInt(net) / size) * size + 1);
}
function prefixLength(cidr: string): string {
  return cidr.split('/')[1] ?? '32';
}
/** Router-side port name: `r` + the MAC without colons (13 chars, unique per ENI). */
function routerPort(mac: string): string {
  return `r${mac.replaceAll(':', '')}`;
}
/** Guest-side name: eth<device-number> (eth<card>x<device> on other network cards). */
function guestName(eni: LabEni): string {
  return eni.networkCard === 0 ? `eth${eni.deviceNumber}` : `eth${eni.networkCard}x${eni.deviceNumber}`;
}
/** The primary ENI: network card 0, device number 0. */
export function primaryEni(instance: LabInstance): LabEni {
  const eni = instance.enis.find((e) => e.networkCard === 0 && e.deviceNumber === 0);
  if (!eni) throw new Error(`instance ${instance.instanceId} has no ENI at card 0 / device 0`);
  return eni;
}

class LabImpl implements Lab {
  readonly guestNs: string;
  readonly vpcNs: string;
  readonly netNs: string;
  readonly echoUrl = `http://${WAN_ECHO}/`;
  readonly runtime: string;
  readonly runDir: string;
  readonly unitDir: string;
  readonly networkDir: string;
  readonly sbinDir: string;
  private readonly stateFile: string;
  private readonly children = new Set<ChildProcess>();
  /** dnsmasq per router port, with the configuration it was started with. */
  private readonly dhcpServers = new Map<string, { child: ChildProcess; config: string }>();
  private instance: LabInstance = { instanceId: 'i-00000000000000000', enis: [] };
  private imdsMode: 'ok' | 'down' | 'garbage' = 'ok';
  private destroyed = false;

  constructor(
    readonly id: string,
    private readonly opts: LabOptions = {},
  ) {
    this.guestNs = `eipa-${id}-guest`;
    this.vpcNs = `eipa-${id}-vpc`;
    this.netNs = `eipa-${id}-net`;
    this.runtime = join(repoRoot, '.lab-runtime', id);
    this.runDir = join(this.runtime, 'run');
    this.unitDir = join(this.runtime, 'etc-systemd-system');
    this.networkDir = join(this.runtime, 'etc-systemd-network');
    this.sbinDir = join(this.runtime, 'usr-local-sbin');
    this.stateFile = join(this.runtime, 'imds.json');
  }

  async build(): Promise<void> {
    for (const dir of [this.runDir, this.unitDir, this.networkDir, this.sbinDir]) mkdirSync(dir, { recursive: true });
    this.writeState();
    for (const ns of [this.vpcNs, this.netNs]) {
      await run('ip', ['netns', 'add', ns]);
      await this.ipBatch(ns, ['link set lo up']);
    }
    await this.buildGuestNs();
    await this.nsRun(this.vpcNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await this.ipBatch(this.vpcNs, [
      'address add 169.254.169.254/32 dev lo',
      `link add wan type veth peer name wan netns ${this.netNs}`,
      `address add ${WAN_ROUTER}/24 dev wan`,
      'link set wan up',
    ]);
    await this.ipBatch(this.netNs, [
      `address add ${WAN_ECHO}/24 dev wan`,
      'link set wan up',
      `route add default via ${WAN_ROUTER}`,
    ]);
    await this.writeFirewall();
    await this.startServer(this.netNs, ['echo', '80']);
    await this.startServer(this.vpcNs, ['imds', this.stateFile]);
  }

  private async buildGuestNs(): Promise<void> {
    await run('ip', ['netns', 'add', this.guestNs]);
    await this.ipBatch(this.guestNs, ['link set lo up']);
    // The guest drops what arrives on the wrong interface (strict reverse-path filtering, as many AMIs configure).
    await this.nsRun(this.guestNs, [
      'sysctl',
      '-qw',
      'net.ipv4.conf.all.rp_filter=1',
      'net.ipv4.conf.default.rp_filter=1',
    ]);
  }

  async resetGuest(): Promise<void> {
    for (const port of [...this.dhcpServers.keys()]) await this.stopDhcp(port);
    await run('ip', ['netns', 'del', this.guestNs]);
    await this.buildGuestNs();
    await this.apply(this.instance);
  }

  leaseFile(mac: string): string {
    return join(this.runtime, `dhcp-${routerPort(mac)}.leases`);
  }

  /** Starts (or restarts, when its ENI changed) the DHCP server of each ENI port; stops those of detached ENIs. */
  private async syncDhcp(ports: Map<string, LabEni>): Promise<void> {
    for (const port of [...this.dhcpServers.keys()]) if (!ports.has(port)) await this.stopDhcp(port);
    for (const [port, eni] of ports) {
      const [net = '', len = '32'] = eni.subnetCidr.split('/');
      const mask = intToIpv4(len === '0' ? 0 : (0xffffffff << (32 - Number(len))) >>> 0);
      const args = [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--port=0',
        '--user=root',
        '--pid-file=',
        `--interface=${port}`,
        '--bind-interfaces',
        '--dhcp-authoritative',
        `--dhcp-range=${net},static,${mask},${this.opts.dhcpLeaseSeconds ?? 3600}`,
        `--dhcp-host=${eni.mac},${eni.privateIps[0]}`,
        `--dhcp-option=option:router,${subnetGateway(eni.subnetCidr)}`,
        '--dhcp-option=option:dns-server',
        `--dhcp-leasefile=${this.leaseFile(eni.mac)}`,
        '--log-facility=-',
        '--quiet-dhcp',
      ];
      const config = args.join(' ');
      const current = this.dhcpServers.get(port);
      if (current?.config === config && current.child.exitCode === null) continue;
      // The old server must be gone first: the new one binds the same port-67 socket on the same interface.
      if (current) await this.stopDhcp(port);
      const child = spawnChild('ip', ['netns', 'exec', this.vpcNs, DNSMASQ, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      this.children.add(child);
      this.dhcpServers.set(port, { child, config });
      // Ready once it says its DHCP socket is bound; a guest booting sooner would send its DISCOVERs to no one.
      await new Promise<void>((ok, fail) => {
        let log = '';
        const timer = setTimeout(() => fail(new Error(`dnsmasq on ${port} did not start: ${log}`)), 10_000);
        child.stderr?.on('data', (d: Buffer) => {
          log += d.toString();
          if (log.includes('sockets bound exclusively')) {
            clearTimeout(timer);
            ok();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          fail(new Error(`dnsmasq on ${port} exited (${code}): ${log}`));
        });
      });
    }
  }

  private async stopDhcp(port: string): Promise<void> {
    const server = this.dhcpServers.get(port);
    this.dhcpServers.delete(port);
    if (!server) return;
    this.children.delete(server.child);
    const { child } = server;
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      return;
    }
    await exited;
  }

  private writeState(): void {
    const state: ImdsState = { mode: this.imdsMode, instance: this.instance };
    writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(state));
    // rename: the IMDS server never reads a half-written file.
    execFileSync('mv', [`${this.stateFile}.tmp`, this.stateFile]);
  }

  private async ipBatch(ns: string, lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.runInput('ip', ['-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
  }

  private async nsRun(ns: string, argv: string[]): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', ns, ...argv]);
    return stdout;
  }

  private runInput(cmd: string, args: string[], input: string): Promise<void> {
    return new Promise((ok, fail) => {
      const child = spawnChild(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', fail);
      child.on('close', (code) =>
        code === 0 ? ok() : fail(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr}\n${input}`)),
      );
      // A command that exits without reading its input closes the pipe: EPIPE here is not the command's failure
      // (its exit code says how it went), and unhandled it would crash the process.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }

  private startServer(ns: string, args: string[]): Promise<void> {
    const child = spawnChild(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', import.meta.resolve('tsx'), serverScript, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.add(child);
    return new Promise((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`lab server ${args[0]} did not start: ${out}`)), 20_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          ok();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        this.children.delete(child);
        if (!out.includes('ready\n')) fail(new Error(`lab server ${args[0]} exited (${code}): ${out}`));
      });
    });
  }

  private async links(ns: string): Promise<Array<{ ifname: string; address?: string }>> {
    const { stdout } = await run('ip', ['-n', ns, '-j', 'link', 'show']);
    return JSON.parse(stdout) as Array<{ ifname: string; address?: string }>;
  }

  async apply(instance: LabInstance): Promise<void> {
    const primary = primaryEni(instance);
    this.instance = structuredClone(instance);
    const wanted = new Map(instance.enis.map((e) => [routerPort(e.mac), e]));
    // Detach: ENIs that are gone (deleting one end of a veth deletes both).
    const ports = (await this.links(this.vpcNs)).filter((l) => /^r[0-9a-f]{12}$/.test(l.ifname));
    await this.ipBatch(
      this.vpcNs,
      ports.filter((p) => !wanted.has(p.ifname)).map((p) => `link del ${p.ifname}`),
    );
    // Attach: a hot-attached NIC appears in the guest down and unconfigured.
    const present = new Set(ports.map((p) => p.ifname));
    const router: string[] = [];
    for (const [port, eni] of wanted) {
      if (!present.has(port)) {
        router.push(
          `link add ${port} type veth peer name ${guestName(eni)} address ${eni.mac} netns ${this.guestNs}`,
          `link set ${port} up`,
        );
      }
      router.push(`address replace ${subnetGateway(eni.subnetCidr)}/32 dev ${port}`, `route flush dev ${port}`);
      // The VPC delivers each private IP to the ENI it is assigned to: a /32 route and a fixed neighbour entry.
      for (const ip of eni.privateIps) {
        router.push(
          `route replace ${ip}/32 dev ${port}`,
          `neigh replace ${ip} lladdr ${eni.mac} dev ${port} nud permanent`,
        );
      }
    }
    await this.ipBatch(this.vpcNs, router);
    if (this.opts.dhcp) {
      await this.syncDhcp(wanted);
      await this.writeFirewall();
      this.writeState();
      return;
    }
    // DHCP on eth0: primary address and default route, only when missing (as a DHCP client renewing would).
    const eth0 = guestName(primary);
    const { stdout } = await run('ip', ['-n', this.guestNs, '-o', '-4', 'addr', 'show', 'dev', eth0]);
    const guest = [`link set ${eth0} up`];
    if (!stdout.includes(` ${primary.privateIps[0]}/`)) {
      guest.push(`address add ${primary.privateIps[0]}/${prefixLength(primary.subnetCidr)} dev ${eth0}`);
    }
    const routes = await run('ip', ['-n', this.guestNs, '-4', 'route', 'show', 'default']);
    if (!routes.stdout.includes(`via ${subnetGateway(primary.subnetCidr)} dev ${eth0}`)) {
      guest.push(`route replace default via ${subnetGateway(primary.subnetCidr)} dev ${eth0}`);
    }
    await this.ipBatch(this.guestNs, guest);
    await this.writeFirewall();
    this.writeState();
  }

  async setImds(mode: 'ok' | 'down' | 'garbage'): Promise<void> {
    this.imdsMode = mode;
    this.writeState();
    await this.writeFirewall();
  }

  /** Router anti-spoofing, IGW NAT and the IMDS switch, rebuilt atomically as one nft transaction. */
  private async writeFirewall(): Promise<void> {
    const spoof: string[] = [];
    const snat: string[] = [];
    const dnat: string[] = [];
    const associated: string[] = [];
    for (const eni of this.instance.enis) {
      // DHCP requests come from 0.0.0.0 (or the leased address): the VPC's DHCP service answers them.
      if (this.opts.dhcp) spoof.push(`iifname "${routerPort(eni.mac)}" udp sport 68 udp dport 67 accept`);
      spoof.push(`iifname "${routerPort(eni.mac)}" ip saddr != { ${eni.privateIps.join(', ')} } drop`);
      for (const [priv, eip] of Object.entries(eni.publicIps)) {
        associated.push(priv);
        snat.push(`oifname "wan" ip saddr ${priv} snat to ${eip}`);
        dnat.push(`iifname "wan" ip daddr ${eip} dnat to ${priv}`);
      }
    }
    const rules = `
table inet lab
delete table inet lab
table inet lab {
  chain antispoof {
    type filter hook prerouting priority raw; policy accept;
    ${spoof.join('\n    ')}
  }
  chain igw {
    type filter hook forward priority filter; policy accept;
    # A private IP without an EIP has no way to the internet.
    oifname "wan" ${associated.length ? `ip saddr != { ${associated.join(', ')} } ` : ''}drop
  }
  chain imds {
    type filter hook input priority filter; policy accept;
    ${this.imdsMode === 'down' ? 'ip daddr 169.254.169.254 tcp dport 80 reject with tcp reset' : ''}
  }
}
table ip labnat
delete table ip labnat
table ip labnat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ${dnat.join('\n    ')}
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ${snat.join('\n    ')}
  }
}
`;
    await this.runInput('ip', ['netns', 'exec', this.vpcNs, 'nft', '-f', '-'], rules);
  }

  /** argv wrapped so that it runs in the guest netns with the lab's private mounts. */
  private guestArgv(argv: string[]): string[] {
    const mounts =
      'mount --bind "$1" /run && mount --bind "$2" /etc/systemd/system && ' +
      'mount --bind "$3" /etc/systemd/network && mount --bind "$4" /usr/local/sbin && shift 4 && exec "$@"';
    return [
      'netns',
      'exec',
      this.guestNs,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      mounts,
      'lab-guest',
      this.runDir,
      this.unitDir,
      this.networkDir,
      this.sbinDir,
      ...argv,
    ];
  }

  private guestEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      HOME: '/root',
      ...extra,
    };
  }

  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return execChild('ip', this.guestArgv(argv), this.guestEnv(opts.env), opts, 'lab');
  }

  async spawn(argv: string[], opts: { env?: Record<string, string> } = {}): Promise<LabProcess> {
    const child = spawnChild('ip', this.guestArgv(argv), {
      env: this.guestEnv(opts.env),
      stdio: 'ignore',
      detached: true,
    });
    await new Promise<void>((ok, fail) => {
      child.once('spawn', ok);
      child.once('error', fail);
    });
    this.children.add(child);
    const pid = child.pid ?? 0;
    return {
      pid,
      stop: async () => {
        this.children.delete(child);
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          return;
        }
        await exited;
      },
    };
  }

  async egressIp(privateIp: string): Promise<string> {
    const res = await this.exec(['curl', '-sS', '--interface', privateIp, '--max-time', '3', this.echoUrl], {
      timeoutMs: 10_000,
    });
    return res.code === 0 ? res.stdout.trim() : '';
  }

  async destroy(): Promise<void> {
    this.destroySync();
  }

  /** Synchronous so it can run from process 'exit'. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const child of this.children) {
      try {
        // Guest daemons run in their own process group (detached); servers are single processes.
        if (child.pid) process.kill(child.spawnargs.includes('unshare') ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.children.clear();
    for (const ns of [this.guestNs, this.vpcNs, this.netNs]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Never created, or already deleted.
      }
    }
    rmSync(this.runtime, { recursive: true, force: true });
  }
}
