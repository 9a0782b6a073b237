import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment, summarize, type Trace } from '#local/deployment';

describe('Function: startDeployment (no guests)', () => {
  let d: Deployment;
  const traces: Trace[] = [];
  const stdoutWrite = process.stdout.write;

  beforeAll(async () => {
    d = await startDeployment({ agentRegistrationDelayMs: 0 });
    d.onTrace((t) => traces.push(t));
  });
  afterAll(async () => {
    await d?.close();
  });

  it('gives the functions the environment serverless.yml sets, pointed at the local server', () => {
    expect(d.env).toMatchObject({
      AWS_ENDPOINT_URL: d.server.url,
      JOB_QUEUE_URL: `${d.server.url}/123456789012/eip-autopilot-dev-jobs.fifo`,
      COUNT_TAG_KEY: 'eip-count',
      GUEST_DOCUMENT_NAME: 'eip-autopilot-guest-sync',
    });
    expect(process.env.AWS_ENDPOINT_URL).toBe(d.server.url);
    expect(d.source.rules.map((r) => r.logicalId).sort()).toEqual([
      'GuestCommandStatusRule',
      'InstanceStateChangeRule',
      'InstanceTagChangeRule',
      'SweepScheduleRule',
    ]);
  });

  it('turns the functions’ log lines into traces instead of stdout', async () => {
    const id = await d.launch('t3.nano', { 'eip-count': '1' });
    await d.settle(async () => (await d.statusOf(id)) === 'ok 1/1', { what: 'ok 1/1' });
    const logs = traces.filter((t): t is Extract<Trace, { kind: 'log' }> => t.kind === 'log');
    expect(logs.map((t) => t.message)).toContain('instance reconciled');
    // The stack's rule does not route `pending` (nothing to do yet): the first job is the running state change.
    expect(logs.find((t) => t.message === 'job enqueued')?.data).toMatchObject({
      instanceId: id,
      reason: 'state-change:running',
    });
    // pending → running takes 5 s of driven time; the real time that passed meanwhile is not jumped again.
    const jump = traces.find((t) => t.kind === 'clock');
    expect(jump).toEqual({ kind: 'clock', advancedMs: expect.any(Number), why: 'instance state transition' });
    expect(jump?.kind === 'clock' && jump.advancedMs > 4_000 && jump.advancedMs <= 5_000).toBe(true);
  });

  it('settle throws with the reason when nothing is left to wait for', async () => {
    const id = await d.launch('t3.nano');
    await expect(d.settle(async () => (await d.statusOf(id)) === 'ok 7/7', { what: 'ok 7/7' })).rejects.toThrow(
      'settled without ok 7/7: nothing left in flight or waiting on time',
    );
  });

  it('refuses a second deployment in the same process: the handlers are already bound to the first', async () => {
    await expect(startDeployment()).rejects.toThrow('one local deployment per process');
    // The failed start cleaned up after itself and left the first one alone.
    expect(process.env.AWS_ENDPOINT_URL).toBe(d.server.url);
  });

  it('summarizes events in one line', () => {
    const event = {
      version: '0',
      id: '1',
      'detail-type': 'Tag Change on Resource',
      source: 'aws.tag',
      account: '1',
      time: '',
      region: 'us-east-1',
    };
    const detail = { 'changed-tag-keys': ['eip-count', 'eip-pool'], tags: { 'eip-count': '3' } };
    expect(summarize({ ...event, resources: ['arn:aws:ec2:us-east-1:1:instance/i-1'], detail })).toBe(
      'i-1 eip-count=3 eip-pool deleted',
    );
  });

  it('close() stops everything and gives stdout and the environment back', async () => {
    const saved = process.env.JOB_QUEUE_URL;
    await d.close();
    expect(process.stdout.write).toBe(stdoutWrite);
    expect(process.env.AWS_ENDPOINT_URL).not.toBe(d.server.url);
    expect(process.env.JOB_QUEUE_URL).not.toBe(saved);
    await d.close();
  });
});
