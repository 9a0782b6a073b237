/**
 * The cloud half of the demo's story as assertions: the real reconciler, the real SDK clients (AWS_ENDPOINT_URL)
 * and the real wire protocols against the local region. The guest half (VPC lab) is part 2 of issue 5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegion, type Region } from '../../local/region/model/index.js';
import { type RegionServer, startRegionServer } from '../../local/region/server.js';

type Reconcile = typeof import('../../src/reconcile/reconcile.js').reconcileInstance;
type Deps = ReturnType<typeof import('../../src/deps.js').makeDeps>;

const WRITE = /^(?!Describe|Get|List)/;

describe('Story: an instance tagged eip-count over the wire', () => {
  let region: Region;
  let server: RegionServer;
  let reconcile: Reconcile;
  let deps: Deps;
  const saved = { ...process.env };

  beforeAll(async () => {
    region = createRegion();
    server = await startRegionServer({ region });
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: server.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALREGION',
      AWS_SECRET_ACCESS_KEY: 'local-region-secret',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const { loadConfig } = await import('../../src/config.js');
    const { makeDeps } = await import('../../src/deps.js');
    ({ reconcileInstance: reconcile } = await import('../../src/reconcile/reconcile.js'));
    deps = makeDeps(loadConfig({ ...process.env, JOB_QUEUE_URL: server.queueUrl('jobs.fifo') }));
    await region.ssm('CreateDocument', {
      Name: 'eip-autopilot-guest-sync',
      Content: JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ action: 'aws:runShellScript', name: 'sync', inputs: { runCommand: ['true'] } }] }),
    });
  });
  afterAll(async () => {
    process.env = saved;
    await server.close();
  });

  const addresses = async () =>
    ((await region.ec2('DescribeAddresses', {})).Addresses ?? []).map((a) => `${a.PrivateIpAddress ?? '-'}@${a.NetworkInterfaceId ?? '-'}`);
  const setCount = (id: string, n: string) => region.ec2('CreateTags', { Resources: [id], Tags: [{ Key: 'eip-count', Value: n }] });
  const cloudWritesOf = async (run: () => Promise<unknown>) => {
    const from = region.calls.length;
    await run();
    return region.calls.slice(from).filter((c) => c.service === 'ec2' && c.ok && WRITE.test(c.action) && c.action !== 'CreateTags').map((c) => c.action);
  };

  it('places one EIP per private IP on a t3.micro, refuses 5, scales down and releases everything at termination', async () => {
    const launched = await region.ec2('RunInstances', { ImageId: 'ami-1', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 });
    const id = launched.Instances?.[0]?.InstanceId ?? '';
    const eni0 = launched.Instances?.[0]?.NetworkInterfaces?.[0]?.NetworkInterfaceId ?? '';

    await setCount(id, '3');
    expect((await reconcile(id, deps)).placed).toBe(3);
    const three = await addresses();
    expect(three).toHaveLength(3);
    expect(new Set(three).size).toBe(3);
    expect(three.filter((a) => a.endsWith(`@${eni0}`))).toHaveLength(2);
    expect(await cloudWritesOf(() => reconcile(id, deps))).toEqual([]);

    await setCount(id, '4');
    expect((await reconcile(id, deps)).placed).toBe(4);
    expect(await addresses()).toHaveLength(4);

    await setCount(id, '5');
    const refused = await reconcile(id, deps);
    expect(refused.status).toMatch(/^error: .*capacity 4/);
    expect(await addresses()).toHaveLength(4);

    await setCount(id, '1');
    await reconcile(id, deps);
    expect(await addresses()).toEqual([expect.stringMatching(new RegExp(`@${eni0}$`))]);

    await region.ec2('TerminateInstances', { InstanceIds: [id] });
    await reconcile(id, deps);
    expect(await addresses()).toEqual([]);
    expect(region.calls.filter((c) => !c.ok)).toEqual([]);
  });
});
