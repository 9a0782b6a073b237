/**
 * The operator CLI as a child process (`npx eip-autopilot`), pointed at the local region with AWS_ENDPOINT_URL like an
 * operator would point it at a real one: `plan` shows what reconcile would do and why without writing, `status` shows
 * desired vs actual. Cloud only: the CLI never touches a guest.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '#local/deployment';
import { isRead } from '#local/region/calls';
import { STACK_ROOT } from '#local/stack/package';

const run = promisify(execFile);

describe('End to end: npx eip-autopilot plan / status against the local region', () => {
  let d: Deployment;
  let id: string;

  /** Runs the CLI with the functions' environment minus their log level (the CLI keeps its output clean by default). */
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...d.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    delete env.POWERTOOLS_LOG_LEVEL;
    try {
      const { stdout, stderr } = await run('npx', ['--no-install', 'eip-autopilot', ...args], {
        cwd: STACK_ROOT,
        env,
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }
  const writesSince = (mark: number) => d.region.calls.slice(mark).filter((c) => !isRead(c.action));

  beforeAll(async () => {
    d = await startDeployment({ guests: 'none' });
    id = await d.launch('t3.micro', { 'eip-count': '2' });
    await d.settle(async () => (await d.statusOf(id)) === 'ok 2/2', { what: 'ok 2/2' });
    // The next tag change never reaches the functions: the CLI shows the drift.
    d.setDropWhen((e) => e['detail-type'] === 'Tag Change on Resource');
    await d.setTags(id, { 'eip-count': '4' });
    await d.settle();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('plan --json: the actions to reach 4 with their reasons, and no write', async () => {
    const mark = d.region.calls.length;
    const res = await cli('plan', id, '--json');
    expect(res.code, res.stderr).toBe(0);
    const plan = JSON.parse(res.stdout) as {
      instanceId: string;
      state: string;
      placed: number;
      wanted: number;
      actions: { kind: string; reason: string }[];
    };
    expect(plan).toMatchObject({ instanceId: id, state: 'running', placed: 4, wanted: 4 });
    const kinds = plan.actions.map((a) => `${a.kind}:${a.reason}`);
    expect(kinds.filter((k) => k.startsWith('associate:'))).toEqual([
      'associate:address-without-eip',
      'associate:address-without-eip',
    ]);
    expect(kinds).toContain('sync-guest:cloud-changed');
    expect(writesSince(mark)).toEqual([]);
  });

  it('plan (text): one line per action with its reason', async () => {
    const res = await cli('plan', id);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n')[0]).toBe(`plan for ${id} (running): 4/4 after apply`);
    expect(res.stdout).toMatch(/associate .*address-without-eip/);
  });

  it('status --json: desired 4, actual 2, the status the functions wrote', async () => {
    const res = await cli('status', '--json');
    expect(res.code, res.stderr).toBe(0);
    const rows = JSON.parse(res.stdout) as {
      instanceId: string;
      desired: string;
      actual: number;
      addresses: string[];
      status: string;
    }[];
    const placed = (await d.addresses(id)).map((r) => r.publicIp).sort();
    expect(rows).toEqual([
      { instanceId: id, state: 'running', desired: '4', actual: 2, addresses: placed, status: 'ok 2/2' },
    ]);
  });
});
