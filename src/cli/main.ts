import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { type Deps, makeDeps } from '../deps';
import { errorCode } from '../errors';
import { isInstanceId } from '../jobs/job';
import type { ActionResult } from '../reconcile/execute';
import type { Action, Target } from '../reconcile/plan';
import { observeAndPlan, reconcileInstance } from '../reconcile/reconcile';
import { sweep } from '../sweep/sweep';
import { statusTable } from './status';

/** Usage text (printed by --help, and on stderr with exit code 2 on bad usage). */
export const USAGE = `Usage: eip-autopilot <command> [options]

Commands:
  plan <instance-id>                 show the actions reconcile would take, and why (no writes)
  reconcile <instance-id> [--no-guest]
                                     converge one instance now (--no-guest: skip the SSM guest document)
  status                             table of instances with the count tag: desired, actual, addresses, status
  sweep [--dry-run]                  find drifted instances and reconcile them (--dry-run: only list them)

Options:
  --json       machine-readable output
  --verbose    also print the structured logs (POWERTOOLS_LOG_LEVEL=INFO)
  -h, --help   this text

Environment: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL (standard SDK); COUNT_TAG_KEY, POOL_TAG_KEY,
ON_STOP_TAG_KEY, GUEST_DOCUMENT_NAME, DRY_RUN as for the functions.
Exit codes: 0 done, 1 failed (AWS error, a reconcile that must be retried, or fewer than n addresses placed),
2 bad usage or configuration.
`;

/** Where the CLI writes; injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

class UsageError extends Error {}

function target(t: Target): string {
  if ('privateIp' in t) return `${t.eniId}/${t.privateIp}`;
  if ('newEni' in t) return `new ENI #${t.newEni}/new IP ${t.newIp}`;
  return `${t.eniId}/new IP ${t.newIp}`;
}

/** One line per action: kind, what it touches, reason. */
export function describeAction(a: Action): string {
  const what = (() => {
    switch (a.kind) {
      case 'disassociate':
      case 'release':
        return `${a.allocationId} (${a.publicIp})`;
      case 'return-to-pool':
        return `${a.allocationId} (${a.publicIp}) to pool ${a.pool}`;
      case 'unassign-private-ip':
        return `${a.eniId}/${a.privateIp}`;
      case 'delete-eni':
        return a.eniId;
      case 'assign-private-ips':
        return `${a.count} on ${a.eniId}`;
      case 'create-eni':
        return a.reuse
          ? `device ${a.deviceIndex}: attach unattached ${a.reuse.eniId} again`
          : `device ${a.deviceIndex} in ${a.subnetId} with ${a.secondaryCount} secondaries`;
      case 'allocate':
        return a.ref;
      case 'take-from-pool':
        return `${a.allocationId} from pool ${a.pool}`;
      case 'associate':
        return `${'ref' in a.allocation ? a.allocation.ref : a.allocation.allocationId} -> ${target(a.target)}`;
      case 'write-status':
        return JSON.stringify(a.value);
      case 'sync-guest':
      case 'noop':
        return '';
    }
  })();
  return `${a.kind.padEnd(20)} ${what.padEnd(48)} ${a.reason}`.trimEnd();
}

function resultLine(o: ActionResult): string {
  const tail = o.result === 'done' ? (o.id ? ` [${o.id}]` : '') : ` [${o.result}${o.error ? `: ${o.error}` : ''}]`;
  return `  ${describeAction(o.action)}${tail}`;
}

function instanceArg(positionals: string[], command: string): string {
  const id = positionals[1];
  if (positionals.length !== 2 || !isInstanceId(id))
    throw new UsageError(`${command} needs exactly one instance id (i-...)`);
  return id;
}

/**
 * Runs the CLI; returns the exit code. `deps` is built from the environment unless given (tests pass their own).
 */
export async function main(
  argv: string[],
  io: Io = stdio,
  makeDepsFn: () => Deps = () => makeDeps(loadConfig(process.env, { requireQueue: false })),
): Promise<number> {
  let values: { json?: boolean; 'no-guest'?: boolean; 'dry-run'?: boolean; help?: boolean; verbose?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        'no-guest': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const command = positionals[0];
  const json = values.json ?? false;
  try {
    if (command === undefined) throw new UsageError('missing command');
    if (values['no-guest'] && command !== 'reconcile') throw new UsageError('--no-guest is for reconcile');
    if (values['dry-run'] && command !== 'sweep') throw new UsageError('--dry-run is for sweep');
    if (!['plan', 'reconcile', 'status', 'sweep'].includes(command))
      throw new UsageError(`unknown command "${command}"`);
    if ((command === 'status' || command === 'sweep') && positionals.length !== 1)
      throw new UsageError(`${command} takes no arguments`);
    const id = command === 'plan' || command === 'reconcile' ? instanceArg(positionals, command) : '';
    let deps: Deps;
    try {
      deps = makeDepsFn();
    } catch (err) {
      io.err(`configuration error: ${(err as Error).message}`);
      return 2;
    }
    switch (command) {
      case 'plan': {
        const { actual, plan } = await observeAndPlan(id, deps);
        if (json)
          io.out(
            JSON.stringify(
              { instanceId: id, state: actual.state, placed: plan.placed, wanted: plan.wanted, actions: plan.actions },
              null,
              2,
            ),
          );
        else
          io.out(
            [
              `plan for ${id} (${actual.state ?? 'not found'}): ${plan.placed}/${plan.wanted} after apply`,
              ...plan.actions.map((a) => `  ${describeAction(a)}`),
            ].join('\n'),
          );
        return 0;
      }
      case 'reconcile': {
        const outcome = await reconcileInstance(id, deps, { guest: !values['no-guest'] });
        if (json)
          io.out(JSON.stringify({ ...outcome, results: outcome.results.map(({ cause: _cause, ...o }) => o) }, null, 2));
        else
          io.out(
            [
              `reconciled ${id} (${outcome.state ?? 'not found'}): ${outcome.placed}/${outcome.wanted}, ` +
                `status ${JSON.stringify(outcome.status ?? '')}`,
              ...outcome.results.map(resultLine),
              ...(outcome.retryLater ? [`retry later: ${outcome.retryLater}`] : []),
            ].join('\n'),
          );
        // Non-zero when the job would come back, or when fewer than n are in place: a script must see a shortfall.
        return outcome.retryLater || outcome.placed < outcome.wanted ? 1 : 0;
      }
      case 'status': {
        const rows = await statusTable(deps.ec2, deps.config);
        if (json) io.out(JSON.stringify(rows, null, 2));
        else {
          const head = ['INSTANCE', 'STATE', 'DESIRED', 'ACTUAL', 'ADDRESSES', 'STATUS'];
          const cells = rows.map((r) => [
            r.instanceId,
            r.state,
            r.desired,
            String(r.actual),
            r.addresses.join(',') || '-',
            r.status ?? '-',
          ]);
          const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
          io.out(
            [head, ...cells]
              .map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  '))
              .join('\n'),
          );
        }
        return 0;
      }
      default: {
        const result = await sweep(deps.ec2, deps.ssm, deps.config);
        const runs = [];
        if (!values['dry-run']) {
          // The operator's sweep reconciles in-process, one instance at a time (no queue needed).
          for (const d of result.drifted) runs.push(await reconcileInstance(d.instanceId, deps));
        }
        if (json) {
          io.out(
            JSON.stringify(
              {
                scanned: result.scanned,
                drifted: result.drifted,
                reconciled: runs.map((r) => ({
                  instanceId: r.instanceId,
                  placed: r.placed,
                  wanted: r.wanted,
                  status: r.status,
                  retryLater: r.retryLater,
                })),
              },
              null,
              2,
            ),
          );
        } else {
          io.out(
            [
              `scanned ${result.scanned}, drifted ${result.drifted.length}`,
              ...result.drifted.map((d) => `  ${d.instanceId}  ${d.drift}`),
              ...runs.map((r) => `reconciled ${r.instanceId}: ${r.placed}/${r.wanted} ${r.status ?? ''}`.trimEnd()),
            ].join('\n'),
          );
        }
        return runs.some((r) => r.retryLater) ? 1 : 0;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`failed: ${errorCode(err) ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`);
    return 1;
  }
}
