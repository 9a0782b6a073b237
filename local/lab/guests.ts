/**
 * The local region's guests: one VPC lab (test/lab/vpc-lab.ts) per instance, kept in step with the region.
 *
 * - Every network change the region reports for an instance (`onChange`) re-applies `region.guestNetwork(id)` to that
 *   instance's lab, so its IMDS, the router's anti-spoofing and the IGW's 1:1 NAT follow the associations. Changes
 *   are applied one at a time per instance, in order; the lab is built on the instance's first change (~1 s).
 * - `runner` is the region's SSM command runner: like the SSM agent's aws:runShellScript plugin, it writes the step's
 *   script to a file and runs it with `sh -c <file>` (so its `#!` line picks the shell) as root inside the instance's
 *   guest namespace, with the document's `SSM_*` parameters in its environment. It first waits for the pending
 *   network changes of that instance, as if IMDS had caught up (on AWS it catches up within seconds).
 * - A terminated instance's lab is destroyed; everything is destroyed by `destroy()` (and by the lab's own exit hooks
 * on
 *   Ctrl-C or a crash).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, type Lab } from './vpc-lab';
import type { CommandRunner, Region, RunResult } from '../region/model/index';

/** What the guests report, for the demo's progress lines. */
export type GuestTrace =
  | { kind: 'guest-start'; instanceId: string; script: string; env: Record<string, string> }
  | { kind: 'guest-end'; instanceId: string; exitCode: number; stdout: string; stderr: string; ms: number }
  | { kind: 'guest-error'; instanceId: string; error: string };

/** SSM runs a command for at most its document's timeoutSeconds; guest-sync.yaml says 300. */
const COMMAND_TIMEOUT_MS = 300_000;

/** One lab per instance, following the region. */
export class LabGuests {
  private readonly labs = new Map<string, Promise<Lab>>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly unsubscribe: () => void;
  private scripts = 0;
  private destroyed = false;

  constructor(
    private readonly region: Region,
    private readonly trace: (t: GuestTrace) => void = () => undefined,
  ) {
    this.unsubscribe = region.onChange((change) => {
      if (change.instanceId) this.schedule(change.instanceId);
    });
  }

  /** The lab of an instance once it has been built (undefined before its first network change). */
  lab(instanceId: string): Promise<Lab> | undefined {
    return this.labs.get(instanceId);
  }

  private labFor(instanceId: string): Promise<Lab> {
    let lab = this.labs.get(instanceId);
    if (!lab) {
      lab = createLab();
      this.labs.set(instanceId, lab);
    }
    return lab;
  }

  /** Queues an apply of the instance's current network (read when it runs, so bursts of changes coalesce). */
  private schedule(instanceId: string): void {
    if (this.destroyed) return;
    const previous = this.chains.get(instanceId) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.destroyed) return;
      try {
        const state = this.region.model.ec2.state(instanceId);
        if (state === 'terminated' || state === undefined) {
          const lab = this.labs.get(instanceId);
          this.labs.delete(instanceId);
          if (lab) await (await lab).destroy();
          return;
        }
        const network = this.region.guestNetwork(instanceId);
        // No primary ENI (never in a running instance): nothing a guest could boot with.
        if (!network?.enis.some((e) => e.deviceNumber === 0 && e.networkCard === 0)) return;
        const lab = await this.labFor(instanceId);
        await lab.apply(network);
      } catch (e) {
        this.trace({ kind: 'guest-error', instanceId, error: e instanceof Error ? e.message : String(e) });
      }
    });
    this.chains.set(instanceId, next);
  }

  /** Resolves once every queued network change has been applied. */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.chains.values()];
      await Promise.all(pending);
      const now = [...this.chains.values()];
      if (now.length === pending.length && now.every((p, i) => p === pending[i])) return;
    }
  }

  /** The region's SSM runner: the step's script in the instance's guest namespace. */
  readonly runner: CommandRunner = async (instanceId, script, env): Promise<RunResult> => {
    await (this.chains.get(instanceId) ?? Promise.resolve());
    const labPromise = this.labs.get(instanceId);
    if (!labPromise || this.destroyed) {
      return {
        exitCode: 1,
        stdout: '',
        stderr: `local region: instance ${instanceId} has no guest (VPC lab) to run on`,
      };
    }
    const lab = await labPromise;
    this.scripts += 1;
    const n = this.scripts;
    // Under the lab's per-guest /run (the agent keeps its scripts under /var/lib/amazon/ssm, which the lab shares with
    // the host: never write there).
    const dir = join(lab.runDir, 'ssm', String(n));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '_script.sh'), script);
    chmodSync(join(dir, '_script.sh'), 0o755);
    this.trace({ kind: 'guest-start', instanceId, script, env });
    const started = Date.now();
    const result = await lab.exec(['sh', '-c', `/run/ssm/${n}/_script.sh`], { env, timeoutMs: COMMAND_TIMEOUT_MS });
    this.trace({
      kind: 'guest-end',
      instanceId,
      exitCode: result.code,
      stdout: result.stdout,
      stderr: result.stderr,
      ms: Date.now() - started,
    });
    return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
  };

  /** Destroys every lab (idempotent). */
  async destroy(): Promise<void> {
    this.destroyed = true;
    this.unsubscribe();
    await Promise.allSettled([...this.chains.values()]);
    const labs = await Promise.allSettled([...this.labs.values()]);
    this.labs.clear();
    for (const lab of labs) if (lab.status === 'fulfilled') await lab.value.destroy();
  }
}
