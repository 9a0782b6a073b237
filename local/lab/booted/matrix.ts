/**
 * The booted-guest matrix: one `StackSession` per network stack (a VPC lab with DHCP + a booted Debian guest running
 * that stack), and the events every stack goes through. After each event: every EIP is verified by egress (curl
 * --interface <private ip> to the lab's echo server), the time to repair is measured by polling (never a fixed sleep),
 * and the guest's `ip monitor` is watched for removals of the primary address or the main default route while a
 * guest-sync run holds its lock (attributed to us).
 *
 * Triggers: an IMDS change is followed by a direct run of the script, as the SSM push would do it; attach/detach
 * replay the udev event the kernel would send. The installed timer is stopped after `install` so that no other
 * event is repaired by a lucky tick; `reboot` starts it again (it is enabled) and `timer`, the last event, measures an
 * IMDS change with no push at all.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLab, type ExecResult, type Lab, type LabInstance } from '../vpc-lab';
import { eni, instance } from '../scenario';
import { type BootedGuest, createBootedGuest, GUEST_SCRIPT } from './guest';
import { type Stack, stack as stackById } from './stacks';

/** One cell of the matrix. */
export interface CellResult {
  stack: string;
  event: string;
  pass: boolean;
  /** Milliseconds from the event until every EIP egressed again (and stayed so). */
  repairMs?: number;
  /** Every EIP egressed again (and kept doing so) within the deadline. */
  repaired?: boolean;
  /** Primary addresses / main default routes removed while guest-sync ran (outside a manager event). */
  removedByUs?: number;
  /** What failed, or extra facts (exit codes, removals). */
  note: string;
}

/** The instance every stack starts with: eth0 in subnet 0 with 2 secondaries, eth1 in subnet 1 with 1. */
export function baseInstance(): LabInstance {
  return instance(
    eni(1, { device: 0, subnet: 0, hosts: [10, 11, 12] }),
    eni(2, { device: 1, subnet: 1, hosts: [20, 21] }),
  );
}

function withHosts(eth0: number[], eth1?: number[]): LabInstance {
  const enis = [eni(1, { device: 0, subnet: 0, hosts: eth0 })];
  if (eth1) enis.push(eni(2, { device: 1, subnet: 1, hosts: eth1 }));
  return instance(...enis);
}

/**
 * How long an event may take to repair before its cell fails: 3 × the 5 s target, so a loaded CI machine does not
 * flip a cell (the time itself is printed against the target, never asserted).
 */
const DEADLINE_MS = 15_000;

/** See `managerUntil`. */
const MANAGER_SETTLE_MS = 5_000;

/** A trigger's note that is a fact, not a failure. */
const INFO = 'info: ';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Targets, printed beside the measurements (never asserted on time). */
export const TARGETS = { repairMs: 5_000, timerMs: 65_000 };

/** The event ids, in the order every stack runs them (manager events are inserted after `no-change`). */
export const BASE_EVENTS = [
  'boot',
  'install',
  'no-change',
  'dhcp-renewal',
  'imds-add',
  'imds-remove',
  'all-secondaries-removed-then-one-added',
  'eni-detach-attach',
  'reboot',
  'timer',
] as const;

/** Every event id of a stack, in run order. */
export function stackEvents(st: Stack): string[] {
  return [...BASE_EVENTS.slice(0, 3), ...st.events.map((e) => `manager: ${e.id}`), ...BASE_EVENTS.slice(3)];
}

export class StackSession {
  readonly results: CellResult[] = [];
  private inst: LabInstance = baseInstance();
  private monitor?: ChildProcess;
  private removalsByUs: string[] = [];
  private removalsOther: string[] = [];
  /**
   * Until this time, a primary address or default route deleted while guest-sync runs is put down to the manager
   * event the harness triggered (e.g. `netplan apply` restarts networkd while a hook's run holds the lock).
   */
  private managerUntil = 0;
  private removalsDuringManager: string[] = [];
  /** Kernel changes `ip monitor` saw (see startMonitor), for the no-change run. */
  private kernelChanges: string[] = [];
  private bootMs = 0;

  private constructor(
    readonly stack: Stack,
    readonly lab: Lab,
    readonly guest: BootedGuest,
  ) {}

  /** Lab (DHCP, 120 s leases so a renewal happens within a minute), guest disk with the stack; not booted yet. */
  static async create(stackId: string): Promise<StackSession> {
    const st = stackById(stackId);
    const lab = await createLab({ dhcp: true, dhcpLeaseSeconds: 120 });
    try {
      const session = new StackSession(st, lab, createBootedGuest(lab));
      await lab.apply(session.inst);
      session.guest.writeFiles(st.files(session.inst));
      for (const e of st.edits ?? []) {
        const file = join(session.guest.root, e.path);
        if (existsSync(file)) writeFileSync(file, readFileSync(file, 'utf8').replace(e.from, e.to));
      }
      for (const p of st.purge) {
        execFileSync('chroot', [session.guest.root, 'dpkg', '--purge', p], { stdio: 'ignore' });
      }
      if (st.enable.length) {
        execFileSync('systemctl', ['--root', session.guest.root, 'enable', ...st.enable], { stdio: 'ignore' });
      }
      return session;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  async destroy(): Promise<void> {
    this.stopMonitor();
    await this.guest.destroy();
    await this.lab.destroy();
  }

  /** Runs one event and records its cell. */
  async run(event: string): Promise<CellResult> {
    const started = Date.now();
    let cell: CellResult;
    try {
      cell = await this.dispatch(event);
    } catch (e) {
      cell = { stack: this.stack.id, event, pass: false, note: `harness error: ${(e as Error).message}` };
    }
    cell.note = cell.note.trim();
    this.results.push(cell);
    console.log(
      `matrix ${this.stack.id} | ${event} | ${cell.pass ? 'pass' : 'FAIL'} | ` +
        `repair=${cell.repairMs === undefined ? '-' : `${(cell.repairMs / 1000).toFixed(1)}s`} | ` +
        `${Date.now() - started}ms | ${cell.note}`,
    );
    return cell;
  }

  private dispatch(event: string): Promise<CellResult> {
    if (event.startsWith('manager: ')) {
      const ev = this.stack.events.find((e) => `manager: ${e.id}` === event);
      if (!ev) throw new Error(`unknown manager event ${event}`);
      return this.measure(event, async () => {
        this.managerUntil = Number.POSITIVE_INFINITY;
        const r = await this.guest.sh(ev.command, { timeoutMs: 60_000 });
        // The manager's own asynchronous work (DHCP renewals after a restart) continues a little after the command.
        this.managerUntil = Date.now() + MANAGER_SETTLE_MS;
        return r.code === 0 ? '' : `\`${ev.command}\` exit ${r.code}: ${tail(r.stderr)}`;
      });
    }
    switch (event) {
      case 'boot':
        return this.boot();
      case 'install':
        return this.measure(
          event,
          async () => {
            const note = await this.syncNote(['--install']);
            // Until the `timer` event (after reboot, which starts it again) the timer is off: a repair seen before
            // then is the script's own (hooks, or the direct run that stands for the SSM push), never a lucky tick.
            await this.guest.sh('systemctl stop eip-autopilot-guest-sync.timer');
            return note;
          },
          { baseline: false },
        );
      case 'no-change':
        return this.noChange();
      case 'dhcp-renewal':
        return this.renewal();
      case 'imds-add':
        return this.imdsChange(event, withHosts([10, 11, 12, 13], [20, 21, 22]));
      case 'imds-remove':
        return this.imdsChange(event, baseInstance());
      case 'all-secondaries-removed-then-one-added':
        return this.allRemoved();
      case 'eni-detach-attach':
        return this.detachAttach();
      case 'reboot':
        return this.measure(
          event,
          async () => {
            this.stopMonitor();
            const ms = await this.guest.reboot();
            this.startMonitor();
            return `${INFO}boot ${ms} ms`;
          },
          { deadlineMs: 60_000 },
        );
      case 'timer':
        return this.timer();
      default:
        throw new Error(`unknown event ${event}`);
    }
  }

  private async boot(): Promise<CellResult> {
    this.bootMs = await this.guest.boot();
    this.startMonitor();
    const primary = this.inst.enis[0];
    const gw = '10.0.0.1';
    // DHCP may finish after multi-user.target on stacks whose wait-online is not ordered before it.
    const deadline = Date.now() + 30_000;
    let state = '';
    for (;;) {
      const a = await this.guest.sh('ip -4 -o addr show dev eth0; ip -4 route show default');
      state = a.stdout;
      if (state.includes(` ${primary?.privateIps[0]}/24`) && state.includes(`default via ${gw} dev eth0`)) break;
      if (Date.now() > deadline) {
        return { stack: this.stack.id, event: 'boot', pass: false, note: `no DHCP address/route on eth0: ${state}` };
      }
      await sleep(200);
    }
    return { stack: this.stack.id, event: 'boot', pass: true, repairMs: this.bootMs, note: 'DHCP address on eth0' };
  }

  private async noChange(): Promise<CellResult> {
    this.kernelChanges = [];
    const r = await this.sync(['--json']);
    // Netlink notifications are asynchronous: give the last ones time to arrive.
    await sleep(500);
    const seen = this.kernelChanges;
    let writes = -1;
    try {
      writes = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { writes?: number }).writes ?? -1;
    } catch {
      // Not JSON: reported below.
    }
    const pass = r.code === 0 && writes === 0 && seen.length === 0;
    const note =
      `exit ${r.code}, ${writes} kernel writes reported, ${seen.length} seen by ip monitor` +
      (seen.length ? `: ${seen.slice(0, 3).join('; ')}` : '');
    return { stack: this.stack.id, event: 'no-change', pass, note };
  }

  /** Waits for the next DHCP renewal of eth0 (its lease file is rewritten), then checks every EIP. */
  private renewal(): Promise<CellResult> {
    const leaseFile = this.lab.leaseFile(this.inst.enis[0]?.mac ?? '');
    const read = () => {
      try {
        return execFileSync('cat', [leaseFile], { encoding: 'utf8' });
      } catch {
        return '';
      }
    };
    return this.measure(
      'dhcp-renewal',
      async () => {
        const before = read();
        const deadline = Date.now() + 90_000;
        while (read() === before) {
          if (Date.now() > deadline) return 'no renewal within 90 s';
          await sleep(250);
        }
        return '';
      },
      { fromTriggerEnd: true },
    );
  }

  private async imdsChange(event: string, next: LabInstance): Promise<CellResult> {
    return this.measure(event, async () => {
      this.inst = next;
      await this.lab.apply(next);
      return this.syncNote([]);
    });
  }

  private async allRemoved(): Promise<CellResult> {
    return this.measure('all-secondaries-removed-then-one-added', async () => {
      this.inst = withHosts([10], [20]);
      await this.lab.apply(this.inst);
      const a = await this.syncNote([]);
      this.inst = withHosts([10, 11], [20]);
      await this.lab.apply(this.inst);
      const b = await this.syncNote([]);
      return [a && `all removed: ${a}`, b && `one added: ${b}`].filter(Boolean).join('; ');
    });
  }

  private async detachAttach(): Promise<CellResult> {
    const full = baseInstance();
    return this.measure('eni-detach-attach', async () => {
      this.inst = withHosts([10, 11, 12]);
      await this.lab.apply(this.inst);
      await this.guest.sh('eipa-udev-event remove eth1');
      const a = await this.syncNote([]);
      this.inst = full;
      await this.lab.apply(full);
      await this.guest.sh('eipa-udev-event add eth1');
      const b = await this.syncNote([]);
      const c = await this.syncNote([]);
      return [a && `detached: ${a}`, b && `attached: ${b}`, c && `next run: ${c}`].filter(Boolean).join('; ');
    });
  }

  /** IMDS change with no push: the installed timer must apply it (once per stack). */
  private timer(): Promise<CellResult> {
    return this.measure(
      'timer',
      async () => {
        this.inst = withHosts([10, 11, 12, 14], [20, 21]);
        await this.lab.apply(this.inst);
        return '';
      },
      { deadlineMs: TARGETS.timerMs + 15_000 },
    );
  }

  private sync(args: string[]): Promise<ExecResult> {
    return this.guest.exec(['bash', GUEST_SCRIPT, ...args], { timeoutMs: 120_000 });
  }

  /** A guest-sync run as the SSM push would do it; '' when it exits 0, else a note. */
  private async syncNote(args: string[]): Promise<string> {
    const r = await this.sync(args);
    return r.code === 0 ? '' : `guest-sync exit ${r.code}${tail(r.stderr) ? `: ${tail(r.stderr)}` : ''}`;
  }

  /** Every private IP with an EIP egresses as its EIP; returns the failures. */
  private async egressFailures(): Promise<string[]> {
    const checks: Array<Promise<string>> = [];
    for (const e of this.inst.enis) {
      for (const [priv, eip] of Object.entries(e.publicIps)) {
        checks.push(
          this.lab.egressIp(priv).then((seen) => (seen === eip ? '' : `${priv}→${seen || 'nothing'} (want ${eip})`)),
        );
      }
    }
    return (await Promise.all(checks)).filter(Boolean);
  }

  /**
   * Runs `trigger`, then polls egress until every EIP works and keeps working for `stableMs`; the repair time is
   * from the trigger's start (or end, with `fromTriggerEnd`) to the last moment egress became whole.
   */
  private async measure(
    event: string,
    trigger: () => Promise<string>,
    opts: { deadlineMs?: number; baseline?: boolean; fromTriggerEnd?: boolean; stableMs?: number } = {},
  ): Promise<CellResult> {
    const notes: string[] = [];
    if (opts.baseline !== false) {
      const broken = await this.egressFailures();
      if (broken.length) {
        // A previous cell left the guest broken: start this one from a synced guest (rebooted if a sync cannot fix
        // it: guest-sync's state lives in /run), and say so.
        const r = await this.syncNote([]);
        let how = r ? `${r}, rebooted` : 'synced';
        if (r || (await this.egressFailures()).length) {
          this.stopMonitor();
          await this.guest.reboot();
          this.startMonitor();
          const until = Date.now() + 20_000;
          while ((await this.egressFailures()).length && Date.now() < until) await sleep(500);
          if ((await this.egressFailures()).length) how += `, ${await this.syncNote([])}`;
        }
        notes.push(`baseline broken by the previous event (${broken.length} EIPs; ${how})`);
      }
    }
    this.removalsByUs = [];
    this.removalsOther = [];
    this.removalsDuringManager = [];
    this.managerUntil = 0;
    let t0 = Date.now();
    const triggerNote = await trigger();
    if (opts.fromTriggerEnd) t0 = Date.now();
    if (triggerNote) notes.push(triggerNote.replace(INFO, ''));
    const deadline = Date.now() + (opts.deadlineMs ?? DEADLINE_MS);
    const stableMs = opts.stableMs ?? 2_000;
    let okSince: number | undefined;
    let failures: string[] = [];
    for (;;) {
      failures = await this.egressFailures();
      const now = Date.now();
      if (failures.length === 0) {
        okSince ??= now;
        if (now - okSince >= stableMs) break;
      } else {
        okSince = undefined;
      }
      if (now > deadline) break;
      await sleep(300);
    }
    const repaired = okSince !== undefined;
    if (!repaired) notes.push(`not repaired: ${failures.join(', ')}`);
    if (this.removalsByUs.length) notes.push(`removed by guest-sync: ${this.removalsByUs.join('; ')}`);
    if (this.removalsDuringManager.length) {
      notes.push(`removed during the manager event while guest-sync ran: ${this.removalsDuringManager.length}`);
    }
    const pass = repaired && this.removalsByUs.length === 0 && (!triggerNote || triggerNote.startsWith(INFO));
    return {
      stack: this.stack.id,
      event,
      pass,
      repaired,
      removedByUs: this.removalsByUs.length,
      repairMs: repaired ? Math.max(0, (okSince ?? t0) - t0) : undefined,
      note: notes.join('; '),
    };
  }

  /**
   * `ip monitor` on the guest's namespace: a deleted primary address or main-table default route, seen while a
   * guest-sync run holds /run/eip-autopilot/lock, is counted against us.
   */
  private startMonitor(): void {
    const child = spawn('ip', ['-n', this.lab.guestNs, '-o', 'monitor', 'address', 'route', 'rule'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.monitor = child;
    const primaries = () => new Set(this.inst.enis.map((e) => e.privateIps[0]));
    createInterface({ input: child.stdout }).on('line', (line) => {
      // Any address/route/rule change except a DHCP client's own lease work (renewals refresh lifetimes).
      if (!/ dynamic |proto dhcp|^(Deleted )?(local|broadcast|multicast|fe80|ff00)|inet6/.test(line)) {
        this.kernelChanges.push(line.replace(/\s+/g, ' '));
      }
      if (!line.startsWith('Deleted')) return;
      const addr = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
      const isPrimary = addr && addr[2] !== '32' && primaries().has(addr[1] ?? '');
      const isDefault = /^Deleted default via \S+ dev eth0\b/.test(line) && !/ table /.test(line);
      if (!isPrimary && !isDefault) return;
      const seen = Date.now();
      void this.guest
        // -E 99: "held by someone else" is told apart from any other failure (no lock file yet, guest stopping).
        .exec(['flock', '-n', '-E', '99', '/run/eip-autopilot/lock', 'true'], { timeoutMs: 5_000 })
        .then((r) => {
          const list =
            r.code !== 99
              ? this.removalsOther
              : seen <= this.managerUntil
                ? this.removalsDuringManager
                : this.removalsByUs;
          list.push(line.replace(/\s+/g, ' '));
        });
    });
  }

  private stopMonitor(): void {
    if (this.monitor?.pid && this.monitor.exitCode === null) this.monitor.kill('SIGKILL');
    this.monitor = undefined;
  }
}

/** Wraps prose at 120 columns (the repository's line limit), continuation lines indented. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > 120) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-2).join(' / ').slice(0, 300);
}

/** The matrix as a Markdown table (stacks × events), with the targets. */
export function matrixMarkdown(results: CellResult[], stacks: Stack[], meta: string): string {
  const managerEvents: string[] = [];
  for (const st of stacks) {
    for (const e of st.events) if (!managerEvents.includes(`manager: ${e.id}`)) managerEvents.push(`manager: ${e.id}`);
  }
  const events = [...BASE_EVENTS.slice(0, 3), ...managerEvents, ...BASE_EVENTS.slice(3)];
  const present = stacks.filter((s) => results.some((r) => r.stack === s.id));
  const grid = [
    ['event', ...present.map((s) => `\`${s.id}\``)],
    ...events.map((ev) => [
      ev,
      ...present.map((s) => {
        const r = results.find((x) => x.stack === s.id && x.event === ev);
        if (!r) return '';
        const t = r.repairMs === undefined ? '' : ` ${(r.repairMs / 1000).toFixed(1)} s`;
        return `${r.pass ? 'pass' : '**FAIL**'}${t}`;
      }),
    ]),
  ];
  // Aligned columns, as the repository's formatter (biome) writes Markdown tables.
  const widths = (grid[0] ?? []).map((_, i) => Math.max(3, ...grid.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 3)).join(' | ')} |`;
  const [head = [], ...body] = grid;
  const table = [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)];
  const failures = results
    .filter((r) => !r.pass)
    .map((r) => wrap(`- \`${r.stack}\` / ${r.event}: ${r.note.replaceAll('|', '\\|').slice(0, 400)}`, '  '));
  return [
    wrap(meta, ''),
    '',
    ...table,
    '',
    'Stacks:',
    ...present.map((s) => `- \`${s.id}\`: ${s.stands}`),
    ...(failures.length ? ['', 'Failures:', ...failures] : []),
  ].join('\n');
}
