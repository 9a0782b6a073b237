/**
 * The event-driven loop without the guest: region events → local bus (the stack's patterns) → intake handler → SQS
 * FIFO (group = instance id) → reconcile handler → SSM command → invocation events → command-status handler → status
 * tag. Real handlers, real SDK clients over the wire; the guest command is the region's default runner (succeeds).
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBus } from '../../local/bus.js';
import { createRegion, type Region, type RegionEvent } from '../../local/region/model/index.js';
import { type RegionServer, startRegionServer } from '../../local/region/server.js';
import { FifoQueue, LocalSqs, startDelivery } from '../../local/sqs-fifo.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const context = {
  functionName: 'local',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:local',
  memoryLimitInMB: '256',
  awsRequestId: 'local',
  logGroupName: '/aws/lambda/local',
  logStreamName: 'local',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

const STATE = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] };
const TAGS = {
  source: ['aws.tag'],
  'detail-type': ['Tag Change on Resource'],
  detail: { service: ['ec2'], 'resource-type': ['instance'], 'changed-tag-keys': ['eip-count', 'eip-pool', 'eip-on-stop'] },
};
const COMMAND = {
  source: ['aws.ssm'],
  'detail-type': ['EC2 Command Invocation Status-change Notification'],
  detail: { 'document-name': ['eip-autopilot-guest-sync'] },
};

describe('Story: events drive an instance to its EIPs and its status tag', () => {
  let region: Region;
  let server: RegionServer;
  let bus: LocalBus;
  let delivery: ReturnType<typeof startDelivery>;
  const saved = { ...process.env };

  beforeAll(async () => {
    // SSM agents take about a second to pick a command up; with 0 the invocation can end before reconcile has
    // written its `syncing` status, and command-status then has nothing to turn into `ok` (a race AWS makes rare).
    region = createRegion({ commandPickupMs: 100 });
    const queues = new LocalSqs();
    server = await startRegionServer({ region, sqs: queues });
    const dlq = queues.add(new FifoQueue({ name: 'jobs-dlq.fifo', url: server.queueUrl('jobs-dlq.fifo') }));
    const jobs = queues.add(
      new FifoQueue({ name: 'jobs.fifo', url: server.queueUrl('jobs.fifo'), visibilityTimeoutMs: 200, maxReceiveCount: 5, deadLetterQueue: dlq }),
    );
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: server.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALREGION',
      AWS_SECRET_ACCESS_KEY: 'local-region-secret',
      JOB_QUEUE_URL: jobs.url,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    // Imported after the environment is set: each handler reads its configuration once, at cold start.
    const intake = (await import('../../functions/intake/handler.js')).handler as unknown as Handler;
    const reconcile = (await import('../../functions/reconcile/handler.js')).handler as unknown as Handler;
    const commandStatus = (await import('../../functions/command-status/handler.js')).handler as unknown as Handler;
    await region.ssm('CreateDocument', {
      Name: 'eip-autopilot-guest-sync',
      Content: JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ action: 'aws:runShellScript', name: 'sync', inputs: { runCommand: ['true'] } }] }),
    });
    bus = new LocalBus();
    const target = (id: string, fn: Handler) => ({ id, invoke: (e: RegionEvent) => fn(e, context) });
    bus.addRule({ name: 'state', pattern: STATE, targets: [target('intake', intake)] });
    bus.addRule({ name: 'tags', pattern: TAGS, targets: [target('intake', intake)] });
    bus.addRule({ name: 'command', pattern: COMMAND, targets: [target('command-status', commandStatus)] });
    bus.attach(region);
    delivery = startDelivery(jobs, (event) => reconcile(event, context) as never, { pollMs: 5 });
  });
  afterAll(async () => {
    await delivery.stop();
    await server.close();
    process.env = saved;
  });

  /** Waits until no event, job or command is left in flight and the region saw no new call for a round. */
  async function quiesce(): Promise<void> {
    for (let seen = -1; seen !== region.calls.length; ) {
      seen = region.calls.length;
      await bus.idle();
      await delivery.idle();
      await region.idle();
      await bus.idle();
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  const statusOf = async (id: string) => {
    const out = await region.ec2('DescribeInstances', { InstanceIds: [id] });
    return out.Reservations?.[0]?.Instances?.[0]?.Tags?.find((t) => t.Key === 'eip-autopilot:status')?.Value;
  };
  const eipsOf = async (id: string) =>
    (await region.ec2('DescribeAddresses', { Filters: [{ Name: 'instance-id', Values: [id] }] })).Addresses?.length ?? 0;

  it('launch with eip-count=3, then change the tag to 2: events alone converge, status ends ok', async () => {
    const launched = await region.ec2('RunInstances', {
      ImageId: 'ami-1',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'eip-count', Value: '3' }] }],
    });
    const id = launched.Instances?.[0]?.InstanceId ?? '';
    await quiesce();
    expect(await eipsOf(id)).toBe(3);
    expect(await statusOf(id)).toMatch(/^ok/);

    await region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: '2' }] });
    await quiesce();
    expect(await eipsOf(id)).toBe(2);
    expect(await statusOf(id)).toMatch(/^ok/);
    expect(bus.deliveries.filter((d) => !d.ok)).toEqual([]);
  });
});
