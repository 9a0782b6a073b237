/**
 * A Debian guest booted with systemd as PID 1 (`systemd-nspawn --boot`) inside a VPC lab's guest network namespace.
 *
 * - Root: an overlay of the cached rootfs tree (rootfs.ts); the upper layer is the guest's "disk", kept across
 *   `reboot()` and deleted by `destroy()`.
 * - Network: `--network-namespace-path=/run/netns/<lab guest ns>`: the ENIs are the lab's veths; the lab (with
 *   `dhcp: true`) serves each ENI's primary address by DHCP.
 * - A host whose PID 1 is not systemd needs `--register=no --keep-unit`; each guest gets its own cgroup so that two
 *   guests' systemd instances never share one.
 * - Commands run inside with `nsenter` into the container's leader (its PID 1), in all its namespaces.
 * - `reboot()` = stop, a fresh guest namespace with fresh veths (`lab.resetGuest()`), boot: what a stop/start does.
 *
 * Container facts the guest files fix (written into the overlay before the first boot, see `guestFixes`):
 * - with `--network-namespace-path` nspawn shows the HOST's /sys: a unit ordered before any network manager mounts
 *   a sysfs made inside the guest's netns over /sys/class/net and /sys/devices/virtual/net;
 * - there is no udevd (nspawn guests never run one): `udevadm control|settle|trigger` become no-ops (netplan apply
 *   aborts on them otherwise), and `udevEvent()` runs what the real rules would run for a NIC add/remove;
 * - a veth has no permanent MAC, so netplan's `match: macaddress` (rendered `PermanentMACAddress=`) is rewritten to
 *   `MACAddress=` after each `netplan generate` (on EC2 the ENI's permanent MAC is its MAC).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExecOptions, type ExecResult, execChild } from '../exec';
import type { Lab } from '../vpc-lab';
import { CACHE_DIR, ensureRootfs } from './rootfs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the guest sees the repository's guest script directory (read-only). */
export const GUEST_SCRIPT = '/opt/eip-autopilot/guest-sync.sh';
const GUESTS_DIR = join(CACHE_DIR, 'guests');
const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];

/** Files: path inside the guest → content (`@target` makes a symlink); scripts get mode 0755 (see writeFiles). */
export type GuestFiles = Record<string, string>;

/** Whether this machine can boot guests: the lab's needs plus nspawn, mmdebstrap, overlayfs and dnsmasq. */
export function bootedAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'booted guests need root' };
  for (const bin of ['systemd-nspawn', 'mmdebstrap', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, why: `booted guests need \`${bin}\` (Debian: systemd-container, mmdebstrap, util-linux)` };
    }
  }
  if (!existsSync('/usr/sbin/dnsmasq')) return { ok: false, why: 'booted guests need dnsmasq (dnsmasq-base)' };
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return { ok: false, why: 'no overlayfs' };
  return { ok: true };
}

const filesDir = join(dirname(fileURLToPath(import.meta.url)), 'guest-files');
const guestFile = (name: string): string => readFileSync(join(filesDir, name), 'utf8');

/** The container fixes every guest gets (see the module comment). */
export function guestFixes(): GuestFiles {
  const unit = '/etc/systemd/system';
  return {
    [`${unit}/eipa-netns-sysfs.service`]: guestFile('eipa-netns-sysfs.service'),
    [`${unit}/sysinit.target.wants/eipa-netns-sysfs.service`]: `@${unit}/eipa-netns-sysfs.service`,
    [`${unit}/eipa-udev-coldplug.service`]: guestFile('eipa-udev-coldplug.service'),
    [`${unit}/sysinit.target.wants/eipa-udev-coldplug.service`]: `@${unit}/eipa-udev-coldplug.service`,
    '/usr/local/sbin/udevadm': guestFile('udevadm'),
    '/usr/local/sbin/eipa-udev-event': guestFile('eipa-udev-event'),
  };
}

const live = new Set<BootedGuest>();
let hooked = false;
function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const g of live) g.destroySync();
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Guests whose owning process died without cleaning up (SIGKILL: a test worker killed by its pool): their nspawn and
 * container are killed, their overlay unmounted and deleted. The owner is the pid in the directory name; a directory
 * younger than a minute is left alone (its owner may be starting in another PID namespace).
 */
function sweepGuests(): void {
  if (!existsSync(GUESTS_DIR)) return;
  for (const entry of readdirSync(GUESTS_DIR)) {
    const m = /^([0-9a-z]+)x\d+/.exec(entry);
    const dir = join(GUESTS_DIR, entry);
    if (!m?.[1] || pidAlive(Number.parseInt(m[1], 36))) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs < 60_000) continue;
    } catch {
      continue;
    }
    for (const pid of processesWithArg(`--directory=${join(dir, 'root')}`)) {
      const leader = findChild(pid, 'systemd');
      for (const p of [leader, pid]) {
        try {
          if (p) process.kill(p, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
    try {
      execFileSync('umount', ['-l', join(dir, 'root')], { stdio: 'ignore' });
    } catch {
      // Not mounted.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

let counter = 0;

/** A booted guest; `boot()` it after writing its stack's files with `writeFiles()`. */
export class BootedGuest {
  readonly dir: string;
  readonly root: string;
  private nspawn?: ChildProcess;
  private leader = 0;
  private consoleLog = '';
  private destroyed = false;
  readonly name: string;

  constructor(
    readonly lab: Lab,
    readonly tree: string,
  ) {
    counter += 1;
    this.name = `${process.pid.toString(36)}x${counter}`;
    this.dir = join(GUESTS_DIR, this.name);
    this.root = join(this.dir, 'root');
  }

  /** Mounts the overlay and writes the container fixes. */
  prepare(): void {
    hook();
    sweepGuests();
    for (const d of ['upper', 'work', 'root']) mkdirSync(join(this.dir, d), { recursive: true });
    live.add(this);
    execFileSync('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${this.tree},upperdir=${join(this.dir, 'upper')},workdir=${join(this.dir, 'work')}`,
      this.root,
    ]);
    this.writeFiles(guestFixes());
    // netplan's generator binary: wrap it once (the boot-time generator and `netplan apply` both run it).
    const gen = join(this.root, 'usr/libexec/netplan/generate');
    if (existsSync(gen) && !existsSync(`${gen}.real`)) {
      execFileSync('mv', [gen, `${gen}.real`]);
      writeFileSync(gen, guestFile('netplan-generate'), { mode: 0o755 });
    }
  }

  /** Writes files into the guest's disk; a value starting with `@` makes a symlink to that target. */
  writeFiles(files: GuestFiles): void {
    for (const [path, content] of Object.entries(files)) {
      const host = join(this.root, path);
      mkdirSync(dirname(host), { recursive: true });
      rmSync(host, { force: true });
      if (content.startsWith('@')) {
        execFileSync('ln', ['-s', content.slice(1), host]);
        continue;
      }
      const exec =
        /\/(s?bin|libexec|dispatcher\.d|if-up\.d|if-down\.d|if-post-down\.d)\//.test(path) || /\.sh$/.test(path);
      // NetworkManager ignores a keyfile that others can read.
      const secret = path.includes('/system-connections/');
      writeFileSync(host, content, { mode: exec ? 0o755 : secret ? 0o600 : 0o644 });
    }
  }

  /** Boots; resolves with the milliseconds until systemd reported the system up (running or degraded). */
  async boot(): Promise<number> {
    const started = Date.now();
    const cgroup = `eipa-${this.name}`;
    const cgDirs = CGROUP_ROOTS.filter((r) => existsSync(r)).map((r) => join(r, cgroup));
    for (const d of cgDirs) mkdirSync(d, { recursive: true });
    const enter = cgDirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
    const args = [
      '--boot',
      '--register=no',
      '--keep-unit',
      '--quiet',
      `--machine=eipa-${this.name}`,
      `--hostname=guest`,
      `--directory=${this.root}`,
      `--network-namespace-path=/run/netns/${this.lab.guestNs}`,
      `--bind-ro=${join(repoRoot, 'ssm-documents')}:/opt/eip-autopilot`,
      // nspawn keeps CAP_NET_ADMIN only for networks it creates itself; the guest's managers need it.
      '--capability=CAP_NET_ADMIN',
      '--resolv-conf=off',
      '--timezone=off',
      '--link-journal=no',
      '--console=pipe',
    ];
    const child = spawn('sh', ['-c', `${enter ? `${enter} && ` : ''}exec systemd-nspawn "$@"`, 'nspawn', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.nspawn = child;
    this.consoleLog = '';
    const onData = (d: Buffer) => {
      this.consoleLog = (this.consoleLog + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const pid = child.pid ?? 0;
    // The container's PID 1 is nspawn's child running systemd.
    this.leader = 0;
    const deadline = Date.now() + 60_000;
    while (!this.leader) {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited (${child.exitCode}): ${this.consoleLog}`);
      if (Date.now() > deadline) throw new Error(`no container leader: ${this.consoleLog}`);
      this.leader = findChild(pid, 'systemd');
      if (!this.leader) await sleep(50);
    }
    for (;;) {
      const res = await this.exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 });
      const state = res.stdout.trim();
      if (state === 'running' || state === 'degraded') break;
      if (child.exitCode !== null) throw new Error(`guest stopped while booting: ${this.consoleLog}`);
      if (Date.now() > deadline) throw new Error(`guest did not finish booting (${state}): ${this.consoleLog}`);
      await sleep(100);
    }
    return Date.now() - started;
  }

  /** The last 20 kB of the guest console (systemd's boot messages). */
  console(): string {
    return this.consoleLog;
  }

  /** Runs argv inside the guest (all its namespaces, its root). */
  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!this.leader) return Promise.resolve({ code: 127, stdout: '', stderr: 'guest not running' });
    return execChild(
      'nsenter',
      ['-t', String(this.leader), '-m', '-u', '-i', '-n', '-p', '-r', '-w', '--', ...argv],
      {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        HOME: '/root',
        ...opts.env,
      },
      opts,
      'booted',
    );
  }

  /** A shell command inside the guest. */
  sh(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['bash', '-c', script], opts);
  }

  /** Clean shutdown (SIGTERM to nspawn = poweroff); killed after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const child = this.nspawn;
    this.nspawn = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.leader = 0;
      return;
    }
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    if (child.pid) process.kill(child.pid, 'SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
      this.killLeader();
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    this.leader = 0;
  }

  /** Stop, fresh guest namespace and veths, boot. Resolves with the boot's milliseconds. */
  async reboot(): Promise<number> {
    await this.stop();
    await this.lab.resetGuest();
    return this.boot();
  }

  private killLeader(): void {
    // SIGKILL to a PID namespace's init kills every process in it.
    if (this.leader && pidAlive(this.leader)) process.kill(this.leader, 'SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.stop(10_000).catch(() => undefined);
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    try {
      this.killLeader();
      if (this.nspawn?.pid && this.nspawn.exitCode === null) process.kill(this.nspawn.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    for (let i = 0; i < 50; i++) {
      try {
        execFileSync('umount', [this.root], { stdio: 'ignore' });
        break;
      } catch {
        if (!isMounted(this.root)) break;
        execFileSync('sleep', ['0.1']);
      }
    }
    if (isMounted(this.root)) execFileSync('umount', ['-l', this.root], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
    for (const r of CGROUP_ROOTS) {
      try {
        rmSync(join(r, `eipa-${this.name}`), { recursive: false, force: true });
        execFileSync('rmdir', [join(r, `eipa-${this.name}`)], { stdio: 'ignore' });
      } catch {
        // Left behind by the kernel until its last process is gone; empty and harmless.
      }
    }
  }
}

function isMounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${path} `);
}

function processesWithArg(arg: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(arg)) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

function findChild(ppid: number, comm: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && Number(m[2]) === ppid && m[1] === comm) return Number(entry);
    } catch {
      // Exited meanwhile.
    }
  }
  return 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A guest for `lab`: overlay mounted and container fixes written; the caller adds its stack's files, then boots. */
export function createBootedGuest(lab: Lab): BootedGuest {
  const guest = new BootedGuest(lab, ensureRootfs());
  guest.prepare();
  return guest;
}
