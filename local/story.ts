/**
 * The demo's story, as steps with expectations: `npm run demo` prints it, test/e2e/story.test.ts asserts it. A t3.micro
 * (2 ENIs × 2 IPv4 = 4 addresses) tagged eip-count=3, then 4 (the second ENI gets its second address: source routing
 * in the guest), then 5 (above capacity: an error status and nothing changed), then 1, then terminated: no owned EIP
 * may be left allocated.
 */
import { parseStatus, Status } from '#src/reconcile/status';
import type { AddressRow, Deployment } from './deployment';
import { ec2Changes } from './region/calls';

/** The reason of an `error:` status, '' for any other. */
function errorReason(status: string | undefined): string {
  const parsed = parseStatus(status);
  return parsed?.kind === 'error' ? parsed.reason : '';
}

/** What one step did and whether it met its expectations. */
export interface StoryStep {
  title: string;
  /** What the step expects, in words. */
  expectation: string;
  /** Unmet expectations (empty: the step passed). */
  problems: string[];
  /** The instance's addresses after the step (guest device and egress when the deployment has guests). */
  rows: AddressRow[];
  status: string | undefined;
  /** EC2 writes the step caused, besides tagging (the user's tag and the status tag). */
  ec2Writes: string[];
  /** Real time the step took. */
  ms: number;
}

/** Called as the story goes. */
export interface StoryReporter {
  stepStarted?(title: string, index: number): void;
  stepDone?(step: StoryStep, index: number): void;
}

export interface StoryResult {
  instanceId: string;
  steps: StoryStep[];
  ok: boolean;
}

/** Every row's EIP is what the echo server saw from its private IP, on a guest device that holds that IP. */
function guestProblems(rows: AddressRow[]): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    if (r.egress === undefined) continue;
    if (!r.guestDevice) problems.push(`${r.privateIp} is not configured in the guest`);
    if (r.egress !== r.publicIp)
      problems.push(`egress from ${r.privateIp}: echo server saw ${r.egress || 'nothing'}, expected ${r.publicIp}`);
  }
  return problems;
}

function placementProblems(rows: AddressRow[], count: number): string[] {
  const problems: string[] = [];
  if (rows.length !== count) problems.push(`${rows.length} EIPs associated, expected ${count}`);
  if (new Set(rows.map((r) => r.privateIp)).size !== rows.length) problems.push('two EIPs share one private IP');
  return problems;
}

const pairs = (rows: AddressRow[]) => rows.map((r) => `${r.publicIp}>${r.privateIp}@${r.eniId}`).sort();

/**
 * Runs the story on a deployment. Never throws on an unmet expectation: it records it in the step and goes on, so the
 * demo can show every table; a step whose wait failed records why.
 */
export async function runStory(d: Deployment, reporter: StoryReporter = {}): Promise<StoryResult> {
  const countKey = d.env.COUNT_TAG_KEY ?? 'eip-count';
  const steps: StoryStep[] = [];
  let instanceId = '';
  let before: AddressRow[] = [];

  const step = async (
    title: string,
    expectation: string,
    act: () => Promise<void>,
    until: (status: string | undefined) => Promise<boolean> | boolean,
    check: (rows: AddressRow[], status: string | undefined, ec2Writes: string[]) => Promise<string[]> | string[],
  ) => {
    reporter.stepStarted?.(title, steps.length);
    const started = Date.now();
    const mark = d.region.calls.length;
    const problems: string[] = [];
    try {
      await act();
      await d.settle(async () => until(await d.statusOf(instanceId)), { what: expectation });
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
    const status = instanceId ? await d.statusOf(instanceId) : undefined;
    const rows = instanceId ? await d.addresses(instanceId) : [];
    const ec2Writes = ec2Changes(d.region.calls.slice(mark));
    problems.push(...(await check(rows, status, ec2Writes)));
    const result: StoryStep = { title, expectation, problems, rows, status, ec2Writes, ms: Date.now() - started };
    steps.push(result);
    reporter.stepDone?.(result, steps.length - 1);
    before = rows;
  };

  await step(
    `launch a t3.micro tagged ${countKey}=3`,
    'status ok 3/3, 3 EIPs on 3 private IPs, each egressing as its EIP',
    async () => {
      instanceId = await d.launch('t3.micro', { [countKey]: '3' });
    },
    (status) => status === Status.ok(3, 3),
    (rows, status) => [
      ...(status === Status.ok(3, 3) ? [] : [`status ${status}`]),
      ...placementProblems(rows, 3),
      ...guestProblems(rows),
    ],
  );

  await step(
    `${countKey} → 4`,
    'status ok 4/4, a second ENI with two addresses (source routing in the guest), the first 3 EIPs untouched',
    () => d.setTags(instanceId, { [countKey]: '4' }),
    (status) => status === Status.ok(4, 4),
    (rows, status) => {
      const problems = [
        ...(status === Status.ok(4, 4) ? [] : [`status ${status}`]),
        ...placementProblems(rows, 4),
        ...guestProblems(rows),
      ];
      if (rows.filter((r) => r.deviceIndex === 1).length !== 2) problems.push('the second ENI does not carry two EIPs');
      const moved = pairs(before).filter((p) => !pairs(rows).includes(p));
      if (moved.length > 0) problems.push(`EIPs moved: ${moved.join(', ')}`);
      return problems;
    },
  );

  await step(
    `${countKey} → 5 (above the t3.micro's 4 addresses)`,
    'an error status naming the capacity; nothing changed: same 4 EIPs, no EC2 write',
    () => d.setTags(instanceId, { [countKey]: '5' }),
    (status) => parseStatus(status)?.kind === 'error',
    (rows, status, writes) => {
      const problems = [...(/capacity/.test(errorReason(status)) ? [] : [`status ${status}`]), ...guestProblems(rows)];
      if (pairs(rows).join() !== pairs(before).join()) problems.push('the addresses changed');
      if (writes.length > 0) problems.push(`EC2 writes: ${writes.join(', ')}`);
      return problems;
    },
  );

  await step(
    `${countKey} → 1`,
    'status ok 1/1, one EIP on the primary private IP, the others released',
    () => d.setTags(instanceId, { [countKey]: '1' }),
    (status) => status === Status.ok(1, 1),
    async (rows, status) => {
      const problems = [
        ...(status === Status.ok(1, 1) ? [] : [`status ${status}`]),
        ...placementProblems(rows, 1),
        ...guestProblems(rows),
      ];
      const out = await d.region.ec2('DescribeInstances', { InstanceIds: [instanceId] });
      const primary = out.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress;
      if (rows[0] && rows[0].privateIp !== primary)
        problems.push(`the EIP is on ${rows[0].privateIp}, not the primary IP ${primary}`);
      const owned = await d.ownedAddresses();
      if (owned.length !== 1) problems.push(`${owned.length} owned EIPs allocated, expected 1`);
      return problems;
    },
  );

  await step(
    'terminate the instance',
    'no owned EIP left allocated',
    () => d.terminate(instanceId),
    async () => {
      const out = await d.region.ec2('DescribeInstances', { InstanceIds: [instanceId] });
      return (
        out.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'terminated' && (await d.ownedAddresses()).length === 0
      );
    },
    async () => {
      const owned = await d.ownedAddresses();
      return owned.length === 0 ? [] : [`owned EIPs still allocated: ${owned.map((a) => a.publicIp).join(', ')}`];
    },
  );

  return { instanceId, steps, ok: steps.every((s) => s.problems.length === 0) };
}
