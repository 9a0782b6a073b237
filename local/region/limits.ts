import { RegionError } from './model/errors';
import { isRead } from './calls';

/**
 * API rate limits of the local region: one token bucket per API action, on the region's clock, as EC2 documents them
 * ("Request throttling for the Amazon EC2 API"): a request takes one token; the bucket refills at a fixed rate up to
 * its capacity; an empty bucket refuses the request (`RequestLimitExceeded`, HTTP 503, for EC2). SSM and SQS get
 * their own buckets with their own throttling errors. Off unless the region is created with `rateLimits`.
 */

/** One bucket's size: `capacity` tokens (the burst), refilled at `refillPerSecond`. */
export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

/** Bucket sizes; every field has AWS's default (EC2) or a documented guess (SSM, SQS). */
export interface RateLimitOptions {
  /** EC2 `Describe*`/`List*`/`Get*` (default 100 / 20 per s). */
  nonMutating?: BucketSpec;
  /** The same actions called without filters and without pagination (default 50 / 10 per s). */
  unfilteredNonMutating?: BucketSpec;
  /** Every other EC2 action (default 50 / 5 per s). */
  mutating?: BucketSpec;
  /**
   * SSM, per action (default 50 / 10 per s; SSM publishes no per-action numbers for SendCommand: a guess, kept
   * configurable).
   */
  ssm?: BucketSpec;
  /** SQS, per action (default 300 / 300 per s: a FIFO queue's 300 transactions per second per API action). */
  sqs?: BucketSpec;
  /** Per-action overrides, keyed `ec2:CreateTags`, `ssm:SendCommand`, `sqs:ReceiveMessage`, … */
  actions?: Record<string, BucketSpec>;
}

export type LimitedService = 'ec2' | 'ssm' | 'sqs';

/** What one bucket did: enough to chart its use against its refill rate. */
export interface BucketUse {
  key: string;
  spec: BucketSpec;
  /** Clock times of the requests it admitted. */
  admitted: number[];
  /** Clock times of the requests it refused. */
  refused: number[];
  /** The same, per caller named in {@link RateLimits.take} (the tenant names itself; the rest is `account`). */
  callers: Record<string, { admitted: number[]; refused: number[] }>;
}

const EC2_DEFAULTS = {
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfilteredNonMutating: { capacity: 50, refillPerSecond: 10 },
  mutating: { capacity: 50, refillPerSecond: 5 },
} as const;
const SSM_DEFAULT: BucketSpec = { capacity: 50, refillPerSecond: 10 };
const SQS_DEFAULT: BucketSpec = { capacity: 300, refillPerSecond: 300 };

// Parameters that make a describe "filtered or paginated": anything else (ids included) is the unfiltered call.
const NARROWING = ['Filters', 'MaxResults', 'NextToken'];

/** Whether an EC2 request counts as unfiltered and unpaginated (AWS's smaller bucket for non-mutating actions). */
export function isUnfiltered(input: unknown): boolean {
  const fields = (input ?? {}) as Record<string, unknown>;
  return !NARROWING.some((key) => {
    const value = fields[key];
    return value !== undefined && !(Array.isArray(value) && value.length === 0);
  });
}

/** The bucket a request takes from: `ec2:DescribeAddresses#unfiltered`, `ec2:CreateTags`, `ssm:SendCommand`, … */
export function bucketKey(service: LimitedService, action: string, input: unknown): string {
  if (service === 'ec2' && isRead(action) && isUnfiltered(input)) return `ec2:${action}#unfiltered`;
  return `${service}:${action}`;
}

/** Token buckets per API action on a clock; {@link RateLimits.take} refuses with the service's throttling error. */
export class RateLimits {
  private readonly buckets = new Map<string, { tokens: number; at: number; use: BucketUse }>();

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly now: () => number,
  ) {}

  /** The size of the bucket behind `key`. */
  spec(key: string): BucketSpec {
    const override = this.opts.actions?.[key];
    if (override) return override;
    const [service, action = ''] = key.split(':');
    if (service === 'ssm') return this.opts.ssm ?? SSM_DEFAULT;
    if (service === 'sqs') return this.opts.sqs ?? SQS_DEFAULT;
    if (action.endsWith('#unfiltered')) return this.opts.unfilteredNonMutating ?? EC2_DEFAULTS.unfilteredNonMutating;
    if (isRead(action)) return this.opts.nonMutating ?? EC2_DEFAULTS.nonMutating;
    return this.opts.mutating ?? EC2_DEFAULTS.mutating;
  }

  private bucket(key: string) {
    let b = this.buckets.get(key);
    const now = this.now();
    if (!b) {
      const spec = this.spec(key);
      b = { tokens: spec.capacity, at: now, use: { key, spec, admitted: [], refused: [], callers: {} } };
      this.buckets.set(key, b);
    }
    // Continuous refill: `refillPerSecond` tokens per second of clock time, never above capacity.
    const { capacity, refillPerSecond } = b.use.spec;
    if (now > b.at) b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * refillPerSecond);
    b.at = Math.max(b.at, now);
    return b;
  }

  /** Tokens left in `key`'s bucket now (a fresh bucket is full). */
  tokens(key: string): number {
    return this.bucket(key).tokens;
  }

  /**
   * Takes one token for this request, or throws the service's throttling error when the bucket is empty. `caller`
   * only labels the request in {@link RateLimits.usage} (AWS cannot tell callers of one account apart either).
   */
  take(service: LimitedService, action: string, input: unknown, caller = 'account'): void {
    const b = this.bucket(bucketKey(service, action, input));
    const now = this.now();
    b.use.callers[caller] ??= { admitted: [], refused: [] };
    const mine = b.use.callers[caller];
    if (b.tokens < 1) {
      b.use.refused.push(now);
      mine.refused.push(now);
      throw throttlingError(service);
    }
    b.tokens -= 1;
    b.use.admitted.push(now);
    mine.admitted.push(now);
  }

  /** Every bucket used so far, with its admitted and refused request times. */
  usage(): BucketUse[] {
    return [...this.buckets.values()].map((b) => b.use);
  }
}

/** The error each service answers an empty bucket with. */
export function throttlingError(service: LimitedService): RegionError {
  if (service === 'ec2') return new RegionError('RequestLimitExceeded', 'Request limit exceeded.', 503);
  if (service === 'ssm') return new RegionError('ThrottlingException', 'Rate exceeded', 400);
  return new RegionError('RequestThrottled', 'Request is throttled.', 403);
}
