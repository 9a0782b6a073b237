import { describe, expect, it } from 'vitest';
import { bucketKey, RateLimits } from '#local/region/limits';
import { createRegion, manualClock } from '#local/region/model/index';
import { createTenant } from '#local/region/tenant';

const takeAll = (limits: RateLimits, action: string, input: unknown = {}) => {
  let n = 0;
  for (;;) {
    try {
      limits.take('ec2', action, input);
      n += 1;
    } catch (e) {
      expect(e).toMatchObject({ name: 'RequestLimitExceeded', statusCode: 503 });
      return n;
    }
  }
};

describe('Class: RateLimits', () => {
  it.each([
    ['CreateTags', {}, 50],
    ['AssociateAddress', { AllocationId: 'eipalloc-1' }, 50],
    ['DescribeInstances', { Filters: [{ Name: 'instance-id', Values: ['i-1'] }] }, 100],
    ['DescribeInstances', { MaxResults: 1000 }, 100],
    ['DescribeInstances', {}, 50],
    ['DescribeAddresses', {}, 50],
    ['DescribeAddresses', { Filters: [] }, 50],
    ['DescribeInstanceTypes', { InstanceTypes: ['t3.micro'] }, 50],
  ])('admits a full bucket of %s %j (%i tokens), then refuses', (action, input, capacity) => {
    const clock = manualClock();
    expect(takeAll(new RateLimits({}, clock.now), action, input)).toBe(capacity);
  });

  it.each([
    ['CreateTags', {}, 5],
    ['DescribeInstances', { Filters: [{ Name: 'tag-key', Values: ['x'] }] }, 20],
    ['DescribeAddresses', {}, 10],
  ])('refills %s %j at %i tokens per second of the clock, never above capacity', (action, input, rate) => {
    const clock = manualClock();
    const limits = new RateLimits({}, clock.now);
    takeAll(limits, action, input);
    clock.advance(1_000);
    expect(takeAll(limits, action, input)).toBe(rate);
    clock.advance(200);
    expect(takeAll(limits, action, input)).toBe(rate / 5);
    clock.advance(3_600_000);
    expect(limits.tokens(bucketKey('ec2', action, input))).toBe(action === 'CreateTags' ? 50 : rate * 5);
  });

  it('keeps one bucket per action, and the unfiltered describe apart from the filtered one', () => {
    const clock = manualClock();
    const limits = new RateLimits({ mutating: { capacity: 5, refillPerSecond: 1 } }, clock.now);
    expect(takeAll(limits, 'AllocateAddress')).toBe(5);
    expect(takeAll(limits, 'AssociateAddress')).toBe(5);
    expect(takeAll(limits, 'DescribeAddresses', {})).toBe(50);
    expect(takeAll(limits, 'DescribeAddresses', { Filters: [{ Name: 'domain', Values: ['vpc'] }] })).toBe(100);
    expect(limits.usage().map((u) => [u.key, u.admitted.length, u.refused.length])).toEqual([
      ['ec2:AllocateAddress', 5, 1],
      ['ec2:AssociateAddress', 5, 1],
      ['ec2:DescribeAddresses#unfiltered', 50, 1],
      ['ec2:DescribeAddresses', 100, 1],
    ]);
  });

  it.each([
    ['ssm', 'SendCommand', 'ThrottlingException', 400],
    ['sqs', 'ReceiveMessage', 'RequestThrottled', 403],
  ] as const)('refuses %s %s with %s (HTTP %i) from its own configurable bucket', (service, action, code, status) => {
    const clock = manualClock();
    const limits = new RateLimits({ [service]: { capacity: 2, refillPerSecond: 1 } }, clock.now);
    limits.take(service, action, {});
    limits.take(service, action, {});
    expect(() => limits.take(service, action, {})).toThrow(expect.objectContaining({ name: code, statusCode: status }));
  });

  it('takes per-action overrides before the class defaults', () => {
    const clock = manualClock();
    const limits = new RateLimits({ actions: { 'ec2:CreateTags': { capacity: 3, refillPerSecond: 1 } } }, clock.now);
    expect(takeAll(limits, 'CreateTags')).toBe(3);
    expect(takeAll(limits, 'DeleteTags')).toBe(50);
  });
});

describe('Function: createRegion (rateLimits)', () => {
  it('is off by default and, when on, refuses EC2 and SSM calls from empty buckets without running them', async () => {
    const clock = manualClock();
    expect(createRegion({ clock: clock.now }).limits).toBeUndefined();
    const region = createRegion({ clock: clock.now, rateLimits: { mutating: { capacity: 1, refillPerSecond: 1 } } });
    await region.ec2('RunInstances', { ImageId: 'ami-1', MinCount: 1, MaxCount: 1 });
    await expect(region.ec2('RunInstances', { ImageId: 'ami-1', MinCount: 1, MaxCount: 1 })).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    const listed = await region.ec2('DescribeInstances', { MaxResults: 5 });
    expect(listed.Reservations).toHaveLength(1);
    expect(region.calls.map((c) => c.error)).toEqual([undefined, 'RequestLimitExceeded', undefined]);
  });
});

describe('Function: createTenant', () => {
  it('spends tokens of each action at its rate and counts what the buckets refused', () => {
    const clock = manualClock();
    const limits = new RateLimits({ mutating: { capacity: 4, refillPerSecond: 2 } }, clock.now);
    const tenant = createTenant({ limits, now: clock.now, rates: { CreateTags: 2, AssociateAddress: 1 } });
    for (let t = 0; t < 10_000; t += 100) {
      tenant.tick();
      clock.advance(100);
    }
    // 2/s against a 2/s refill never runs dry; 1/s neither.
    expect(tenant.counts()).toEqual({
      CreateTags: { sent: 20, refused: 0 },
      AssociateAddress: { sent: 10, refused: 0 },
    });
    // Someone else empties CreateTags: the tenant's next requests are refused until the bucket refills.
    takeAll(limits, 'CreateTags');
    clock.advance(100);
    tenant.tick();
    expect(tenant.counts().CreateTags?.refused).toBe(1);
    const createTags = limits.usage().find((u) => u.key === 'ec2:CreateTags');
    expect(createTags?.callers.tenant?.admitted).toHaveLength(20);
    expect(createTags?.callers.account?.admitted).toHaveLength(4);
  });

  it('sends nothing for the time a driven clock jumps over', () => {
    const clock = manualClock();
    const limits = new RateLimits({}, clock.now);
    const tenant = createTenant({ limits, now: clock.now, rates: { CreateTags: 2 } });
    tenant.tick();
    clock.advance(720_000);
    tenant.tick();
    expect(tenant.counts().CreateTags).toEqual({ sent: 3, refused: 0 });
    expect(tenant.skipped()).toBe(1438);
  });
});
