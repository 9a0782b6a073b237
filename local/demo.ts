/**
 * `npm run demo`: eip-autopilot end to end with no AWS account. A local region on 127.0.0.1 runs the real handlers,
 * the real SDK clients and the real SSM document; with root, every instance is a VPC lab guest (network namespaces)
 * and each EIP is verified from inside it (an echo server "on the internet" must see the EIP). Without root or network
 * namespaces the cloud half runs alone and the reason is printed.
 *
 * Options: --cloud-only (skip the guests even as root), --agent-delay-ms <n> (SSM agent registration delay; the
 * first job then ends `pending` and the next sweep, 15 minutes on the driven clock, sends the guest document once
 * the agent is Online), --quiet (no progress lines).
 * Exit code: 0 when every step met its expectations, 1 otherwise, 130 on Ctrl-C.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { labAvailable } from './lab/vpc-lab';
import type { AddressRow, Deployment, Trace } from './deployment';
import { runStory, type StoryStep } from './story';

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(2).padStart(6)}s`;
const print = (line = '') => {
  writeSync(1, `${line}\n`);
};

const SHORT_TYPES: Record<string, string> = {
  'EC2 Instance State-change Notification': 'state change',
  'Tag Change on Resource': 'tag change',
  'EC2 Command Invocation Status-change Notification': 'SSM invocation',
  'Scheduled Event': 'schedule',
};

/** Ids and values worth showing for an action, then its reason. */
function actionLine(data: Record<string, unknown>): string {
  const { kind, reason, instanceId: _instance, why, code, message: _message, ...rest } = data;
  // Nested values (an associate's target {eniId, privateIp}) are shown flat.
  const flat = Object.entries(rest).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.entries(v as Record<string, unknown>)
      : [[k, v] as const],
  );
  const parts = flat
    .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`);
  return [
    String(kind),
    ...parts,
    `reason=${reason}`,
    ...(why ? [`why=${why}`] : []),
    ...(code ? [`code=${code}`] : []),
  ].join(' ');
}

/** One progress line per trace worth reading; undefined to skip. */
export function progressLine(t: Trace): string | undefined {
  switch (t.kind) {
    case 'event':
      return `event    ${SHORT_TYPES[t.detailType] ?? t.detailType}: ${t.summary} → ${t.target}`;
    case 'dropped':
      return `event    DROPPED by the bus (best effort): ${SHORT_TYPES[t.detailType] ?? t.detailType}: ${t.summary}`;
    case 'clock':
      return `clock    +${Math.round(t.advancedMs / 1000)} s (${t.why})`;
    case 'status':
      return `status   ${t.instanceId} → ${t.status ?? '(removed)'}`;
    case 'guest-start':
      return `ssm      guest-sync running in ${t.instanceId}'s guest (Action=${t.env.SSM_Action ?? 'sync'})`;
    case 'guest-end': {
      const out = `${t.stdout}${t.exitCode === 0 ? '' : t.stderr}`.split('\n').filter(Boolean);
      const shown = out.slice(0, 10).map((l) => `\n                    guest: ${l}`);
      const more = out.length > 10 ? `\n                    guest: … ${out.length - 10} more lines` : '';
      return `ssm      guest-sync exit ${t.exitCode} after ${t.ms} ms${shown.join('')}${more}`;
    }
    case 'guest-error':
      return `guest    ERROR applying the network of ${t.instanceId}: ${t.error}`;
    case 'log': {
      const d = t.data;
      switch (t.message) {
        case 'job enqueued':
          return `job      enqueued ${d.instanceId} reason=${d.reason}`;
        case 'job received':
          return `job      received ${d.instanceId} reason=${d.reason} (receive ${d.receiveCount})`;
        case 'action executed':
        case 'action skipped':
        case 'action failed':
        case 'action planned (dry run)':
          return `action   ${t.message === 'action executed' ? '' : `${t.message.split(' ')[1]}: `}${actionLine(d)}`;
        case 'instance reconciled': {
          const status = d.status === undefined ? '(none)' : `"${d.status}"`;
          const retry = d.retryLater ? `, retry later: ${d.retryLater}` : '';
          return `reconcile ${d.instanceId} ${d.state}: ${d.placed}/${d.wanted} placed, status ${status}${retry}`;
        }
        case 'drift found':
          return `sweep    drift ${d.instanceId} reason=${d.reason}`;
        case 'sweep finished':
          return `sweep    scanned ${d.scanned}, drifted ${d.drifted}`;
        case 'event ignored':
        case 'guest status recorded':
          return undefined;
        default:
          return t.level === 'INFO' || t.level === 'DEBUG'
            ? undefined
            : `log      ${t.level} ${t.message} ${JSON.stringify(d)}`;
      }
    }
    default:
      return undefined;
  }
}

/** The table: EIP → private IP → ENI → device → verified egress. */
export function table(rows: AddressRow[], guests: boolean): string[] {
  if (rows.length === 0) return ['    (no EIP associated)'];
  const header = ['EIP', 'private IP', 'ENI (device index)', 'guest device', 'verified egress (echo server saw)'];
  const cells = rows.map((r) => [
    r.publicIp,
    r.privateIp,
    `${r.eniId} (#${r.deviceIndex})`,
    guests ? r.guestDevice || 'MISSING' : 'n/a',
    guests ? (r.egress === r.publicIp ? `✓ ${r.egress}` : `✗ ${r.egress || 'nothing'}`) : 'n/a (cloud only)',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    `    ${c
      .map((x, i) => x.padEnd(widths[i] ?? 0))
      .join(' → ')
      .trimEnd()}`;
  return [line(header), ...cells.map(line)];
}

async function main(): Promise<number> {
  // The SDK warns on every run that its 2027 releases need Node 22 (dev machines run Node 20): its own switch.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      'cloud-only': { type: 'boolean', default: false },
      'agent-delay-ms': { type: 'string', default: '0' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const agentDelay = Number(values['agent-delay-ms']);
  if (!Number.isInteger(agentDelay) || agentDelay < 0)
    throw new Error(`--agent-delay-ms must be a whole number, got ${values['agent-delay-ms']}`);
  const lab = labAvailable();
  const guests = !values['cloud-only'] && lab.ok;

  print('eip-autopilot demo: the real handlers, SDK clients and SSM document against a local region on 127.0.0.1');
  if (guests)
    print('guests: one VPC lab per instance (network namespaces); every EIP is verified from inside the guest');
  else
    print(
      `GUEST HALF SKIPPED: ${values['cloud-only'] ? '--cloud-only was given' : lab.ok ? '' : lab.why}. Only the ` +
        `cloud half runs: EIPs, private IPs and ENIs are placed and checked, the SSM document is accepted but not ` +
        `run in a guest.`,
    );

  let deployment: Deployment | undefined;
  let interrupted = false;
  // Listeners stay for the whole run (`on`, not `once`): with none left, a second Ctrl-C (a terminal sends one to every
  // process of the group, and npm/tsx relay theirs) would kill the process midway through deleting the namespaces.
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    print('\ninterrupted: cleaning up');
    void (deployment?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // Imported here, after the environment above is set.
    const { startDeployment } = await import('./deployment');
    deployment = await startDeployment({
      guests: guests ? 'lab' : 'none',
      agentRegistrationDelayMs: agentDelay,
      // A pending guest is picked up by the next sweep once its agent is Online: let the schedule run.
      sweepSchedule: agentDelay > 0,
    });
    const d = deployment;
    print(
      `region on ${d.server.url}, job queue ${d.jobs.name}, ${d.source.rules.length} EventBridge rules from ` +
        `serverless.yml`,
    );
    print(
      'IAM: each function signs as itself; every call it makes is evaluated against its role in the packaged ' +
        'template',
    );
    if (!values.quiet) {
      d.onTrace((t) => {
        const line = progressLine(t);
        if (line) print(`  ${elapsed()}  ${line}`);
      });
    }
    const result = await runStory(d, {
      stepStarted: (title, i) => print(`\n== ${i + 1}. ${title}`),
      stepDone: (step: StoryStep) => {
        print(
          `\n  status: ${step.status ?? '(none)'}   EC2 writes besides tags: ` +
            `${step.ec2Writes.length === 0 ? 'none' : step.ec2Writes.join(', ')}   (${(step.ms / 1000).toFixed(1)} s)`,
        );
        for (const line of table(step.rows, guests)) print(line);
        print(step.problems.length === 0 ? `  ✓ ${step.expectation}` : step.problems.map((p) => `  ✗ ${p}`).join('\n'));
      },
    });
    const owned = await d.ownedAddresses();
    print('');
    if (owned.length === 0)
      print('✓ no owned EIP left allocated (DescribeAddresses, tag eip-autopilot:managed=true: none)');
    else print(`✗ owned EIPs still allocated: ${owned.map((a) => `${a.publicIp} (${a.allocationId})`).join(', ')}`);
    const decisions = d.iam?.decisions ?? [];
    const refused = decisions.filter((x) => !x.allowed);
    if (refused.length === 0) print(`✓ IAM: ${decisions.length} calls by the functions evaluated, none refused`);
    else print(`✗ IAM refused: ${refused.map((x) => `${x.functionKey} ${x.service}:${x.action}`).join(', ')}`);
    const failed = result.steps.filter((s) => s.problems.length > 0).length;
    const passed = failed === 0 && owned.length === 0 && refused.length === 0;
    const verdict = passed
      ? 'demo passed'
      : `demo FAILED: ${failed} step(s) missed their expectations, ${refused.length} call(s) refused`;
    print(`${verdict} in ${((Date.now() - t0) / 1000).toFixed(1)} s${guests ? '' : ' (cloud half only)'}`);
    return passed ? 0 : 1;
  } finally {
    if (!interrupted) await deployment?.close();
  }
}

// Run only as a program (npm run demo), never when a test imports the formatting helpers.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      print(`demo FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 1;
    },
  );
}
