import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, packageStack, propertiesOf, STACK_ROOT } from '#local/stack/package';

// The cfn-guard binary shipped inside @cdklabs/cdk-validator-cfnguard (no download at test time).
const GUARD = join(
  STACK_ROOT,
  'node_modules/@cdklabs/cdk-validator-cfnguard/bin',
  process.platform === 'darwin' ? 'macos' : 'ubuntu',
  process.arch === 'arm64' ? 'aarch64' : 'x86_64',
  'cfn-guard',
);
const RULES = join(STACK_ROOT, 'infra', 'guard');

let template: CfnTemplate;
let dir: string;

beforeAll(() => {
  template = packageStack().template;
  dir = mkdtempSync(join(tmpdir(), 'eip-guard-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Run our rules on `t`; returns the rules that failed (and the exit code, 0 = compliant). */
function guard(t: CfnTemplate, name: string): { status: number | null; failed: string[]; output: string } {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(t, null, 2));
  const run = spawnSync(GUARD, ['validate', '-r', RULES, '-d', file, '-S', 'all'], { encoding: 'utf8' });
  if (run.error) throw run.error;
  const output = `${run.stdout}${run.stderr}`;
  const failed = [...output.matchAll(/least-privilege\.guard\/(\S+)\s+FAIL/g)].map((m) => m[1] as string);
  return { status: run.status, failed, output };
}

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
function statement(t: CfnTemplate, role: string, sid: string): Statement {
  const policies = t.Resources[role]?.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[];
  const found = policies.flatMap((p) => p.PolicyDocument.Statement).find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${role}`);
  return found;
}

describe('cfn-guard: infra/guard/least-privilege.guard', () => {
  it('passes the packaged template', () => {
    const result = guard(template, 'packaged');
    expect(result.failed, result.output).toEqual([]);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/Status = PASS/);
  });

  it.each([
    [
      'a wildcard action',
      'no_wildcard_actions_in_roles',
      (t: CfnTemplate) => {
        statement(t, 'SweepRole', 'DescribeNeedsStar').Action = ['ec2:Describe*'];
      },
    ],
    [
      'a service-wide action in a list',
      'no_wildcard_actions_in_roles',
      (t: CfnTemplate) => {
        statement(t, 'IntakeRole', 'EnqueueJobs').Action = ['sqs:SendMessage', 'sqs:*'];
      },
    ],
    [
      'SendCommand on any document',
      'send_command_scoped_to_guest_document',
      (t: CfnTemplate) => {
        statement(t, 'ReconcileRole', 'RunGuestDocument').Resource = '*';
      },
    ],
    [
      'SendCommand on another document',
      'send_command_scoped_to_guest_document',
      (t: CfnTemplate) => {
        statement(t, 'ReconcileRole', 'RunGuestDocument').Resource = {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
          'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript',
        };
      },
    ],
    [
      'SendCommand on any instance without a tag condition',
      'send_command_scoped_to_guest_document',
      (t: CfnTemplate) => {
        delete statement(t, 'ReconcileRole', 'RunOnCountTaggedInstances').Condition;
      },
    ],
    [
      'ReleaseAddress without the ownership condition',
      'release_only_owned_addresses',
      (t: CfnTemplate) => {
        delete statement(t, 'ReconcileRole', 'ReleaseOnlyOwned').Condition;
      },
    ],
    [
      'ReleaseAddress on every resource',
      'release_only_owned_addresses',
      (t: CfnTemplate) => {
        statement(t, 'ReconcileRole', 'ReleaseOnlyOwned').Resource = '*';
      },
    ],
    [
      'an unencrypted queue',
      'queues_encrypted',
      (t: CfnTemplate) => {
        delete propertiesOf(t, 'JobQueue').SqsManagedSseEnabled;
      },
    ],
    [
      'a job queue without a DLQ',
      'job_queue_has_dlq',
      (t: CfnTemplate) => {
        delete propertiesOf(t, 'JobQueue').RedrivePolicy;
      },
    ],
  ])('fails on %s (%s)', (name, rule, breakIt) => {
    const broken = structuredClone(template);
    breakIt(broken);
    const result = guard(broken, name.replaceAll(' ', '-'));
    expect(result.status, result.output).not.toBe(0);
    expect(result.failed, result.output).toEqual([rule]);
  });
});
