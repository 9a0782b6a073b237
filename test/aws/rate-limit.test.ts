import { EC2Client, CreateTagsCommand, DescribeAddressesCommand } from '@aws-sdk/client-ec2';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketsFor, ec2BucketKey, limitClient, RateLimiter } from '#src/aws/rate-limit';
import { createRegion, manualClock } from '#local/region/model/index';
import { type RegionServer, startRegionServer } from '#local/region/server';

/** A limiter on a manual clock whose sleep moves the clock: acquire() returns at the time a token is free. */
function driven(share: number, concurrency: number) {
  const clock = manualClock(0);
  const limiter = new RateLimiter({
    share,
    concurrency,
    now: clock.now,
    sleep: async (ms) => clock.advance(ms),
  });
  return { clock, limiter };
}

describe('Class: RateLimiter', () => {
  it.each([
    ['ec2:AllocateAddress', 0.6, 5, 6, 0.6],
    ['ec2:AllocateAddress', 0.6, 1, 30, 3],
    ['ec2:DescribeInstances', 0.6, 5, 12, 2.4],
    ['ec2:DescribeAddresses#unfiltered', 0.6, 5, 6, 1.2],
    ['ssm:SendCommand', 0.5, 5, 5, 1],
  ])(
    'gives each container share ÷ concurrency of %s (share %d, %i containers): %d tokens, %d/s',
    (key, share, n, cap, rate) => {
      const { limiter } = driven(share, n);
      const size = limiter.sizeOf(key);
      expect(size.capacity).toBeCloseTo(cap);
      expect(size.refillPerSecond).toBeCloseTo(rate);
    },
  );

  it('admits the burst at once, then one request per 1/rate seconds', async () => {
    const { clock, limiter } = driven(0.6, 5);
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      await limiter.acquire('ec2:AssociateAddress');
      times.push(clock.now());
    }
    expect(times.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    // 0.6 tokens per second: one every 1667 ms.
    for (const [i, t] of times.slice(6).entries())
      expect(Math.abs(t - (times[5 + i] ?? 0) - 1667)).toBeLessThanOrEqual(1);
    // Over any long run, the container stays within its part: 6 + 0.6 × seconds.
    expect(12).toBeLessThanOrEqual(6 + 0.6 * ((times.at(-1) ?? 0) / 1000) + 0.01);
  });

  it('keeps the buckets of different actions apart', async () => {
    const { clock, limiter } = driven(0.6, 5);
    for (let i = 0; i < 6; i++) await limiter.acquire('ec2:AllocateAddress');
    await limiter.acquire('ec2:AssociateAddress');
    expect(clock.now()).toBe(0);
  });

  it('limits nothing with share 0', async () => {
    const { clock, limiter } = driven(0, 5);
    for (let i = 0; i < 1000; i++) await limiter.acquire('ec2:CreateTags');
    expect(clock.now()).toBe(0);
    expect(limiter.enabled).toBe(false);
  });

  it.each([
    [-0.1, 5],
    [1.1, 5],
    [0.5, 0],
  ])('refuses share %d with concurrency %i', (share, concurrency) => {
    expect(() => new RateLimiter({ share, concurrency })).toThrow(RangeError);
  });
});

describe('Function: bucketsFor', () => {
  it.each([
    ['ec2', 'DescribeAddresses', {}, ['ec2:DescribeAddresses#unfiltered']],
    ['ec2', 'DescribeAddresses', { Filters: [{ Name: 'domain' }] }, ['ec2:DescribeAddresses']],
    ['ec2', 'DescribeInstances', { MaxResults: 1000 }, ['ec2:DescribeInstances']],
    ['ec2', 'CreateTags', { Resources: ['i-1'] }, ['ec2:CreateTags']],
    // command-status writes the status tag when the command ends: SendCommand pays for it.
    ['ssm', 'SendCommand', {}, ['ssm:SendCommand', 'ec2:CreateTags']],
    ['ssm', 'ListCommandInvocations', {}, ['ssm:ListCommandInvocations']],
  ] as const)('%s %s %j → %j', (service, action, input, keys) => {
    expect(bucketsFor(service, action, input)).toEqual(keys);
    if (service === 'ec2') expect(ec2BucketKey(action, input)).toBe(keys[0]);
  });
});

describe('Function: limitClient', () => {
  let server: RegionServer;
  const region = createRegion({ eipQuota: 100 });
  const credentials = { accessKeyId: 'AKIDLOCALREGION', secretAccessKey: 'local-region-secret' };
  beforeAll(async () => {
    server = await startRegionServer({ region });
  });
  afterAll(() => server.close());

  it('makes every SDK request over the wire wait for its tokens, on the buckets of its action', async () => {
    const keys: string[] = [];
    const limiter = new RateLimiter({ share: 0.6, concurrency: 5 });
    const acquire = limiter.acquire.bind(limiter);
    limiter.acquire = async (key) => {
      keys.push(key);
      await acquire(key);
    };
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: server.url, credentials });
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: server.url, credentials });
    limitClient(ec2, 'ec2', limiter);
    limitClient(ssm, 'ssm', limiter);
    await ec2.send(new DescribeAddressesCommand({}));
    const run = await region.ec2('RunInstances', { ImageId: 'ami-1', MinCount: 1, MaxCount: 1 });
    const id = run.Instances?.[0]?.InstanceId ?? '';
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'a', Value: 'b' }] }));
    await expect(ssm.send(new SendCommandCommand({ DocumentName: 'none', InstanceIds: [id] }))).rejects.toThrow();
    expect(keys).toEqual(['ec2:DescribeAddresses#unfiltered', 'ec2:CreateTags', 'ssm:SendCommand', 'ec2:CreateTags']);
  });
});
