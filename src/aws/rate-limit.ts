import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';

/**
 * Client-side rate limiting: eip-autopilot spends at most a share of each EC2 API bucket, so that the account's other
 * tools (console, Terraform, Auto Scaling) keep working during a launch burst (docs/reconciler.md, "Throttling").
 *
 * EC2 throttles per API action, per account and Region, with token buckets (defaults: mutating actions 50 tokens,
 * refill 5/s; non-mutating 100 / 20 per s; non-mutating without filters and pagination 50 / 10 per s). A Lambda
 * container cannot see the others, so each one takes `share ÷ concurrency` of every bucket, burst and refill alike:
 * with the event source's MaximumConcurrency containers at most, the function as a whole stays within the share.
 */

/** A bucket's size as AWS documents it. */
export interface BucketSize {
  capacity: number;
  refillPerSecond: number;
}

/** EC2's default bucket sizes ("Request throttling for the Amazon EC2 API"). */
export const EC2_BUCKETS = {
  mutating: { capacity: 50, refillPerSecond: 5 },
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfilteredNonMutating: { capacity: 50, refillPerSecond: 10 },
} as const satisfies Record<string, BucketSize>;

/**
 * SSM's buckets are not published per action; SendCommand is taken to be a mutating-sized bucket (a guess, the same
 * one the local region uses, `local/region/limits.ts`).
 */
export const SSM_BUCKET: BucketSize = { capacity: 50, refillPerSecond: 10 };

const NON_MUTATING = /^(Describe|List|Get)/;

/** Whether an API action only reads (`Describe*`, `Get*`, `List*`: what AWS's rate limits call non-mutating). */
export function isReadAction(action: string): boolean {
  return NON_MUTATING.test(action);
}

/** The EC2 bucket a request takes from, as `ec2:<Action>` or `ec2:<Action>#unfiltered` (the smaller bucket). */
export function ec2BucketKey(action: string, input: Record<string, unknown> | undefined): string {
  if (!isReadAction(action)) return `ec2:${action}`;
  const narrowed = ['Filters', 'MaxResults', 'NextToken'].some((k) => {
    const v = input?.[k];
    return v !== undefined && !(Array.isArray(v) && v.length === 0);
  });
  return narrowed ? `ec2:${action}` : `ec2:${action}#unfiltered`;
}

function bucketSize(key: string): BucketSize {
  const [service, action = ''] = key.split(':');
  if (service === 'ssm') return SSM_BUCKET;
  if (action.endsWith('#unfiltered')) return EC2_BUCKETS.unfilteredNonMutating;
  return isReadAction(action) ? EC2_BUCKETS.nonMutating : EC2_BUCKETS.mutating;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Share of each bucket the whole function may use (0 < share ≤ 1; 0 turns the limiter off). */
  share: number;
  /** How many containers may run at once (the event source's MaximumConcurrency). */
  concurrency: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Per-container token buckets, each `share ÷ concurrency` of the AWS bucket it stands for. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; size: BucketSize }>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds spent waiting for tokens, per bucket (logged, and read by the bench). */
  readonly waited = new Map<string, number>();

  constructor(private readonly opts: RateLimiterOptions) {
    if (!(opts.share >= 0 && opts.share <= 1)) throw new RangeError(`share must be within [0, 1], got ${opts.share}`);
    if (!(opts.concurrency >= 1)) throw new RangeError(`concurrency must be ≥ 1, got ${opts.concurrency}`);
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Whether the limiter limits anything (share 0 = off). */
  get enabled(): boolean {
    return this.opts.share > 0;
  }

  /** This container's part of the bucket behind `key`. */
  sizeOf(key: string): BucketSize {
    const aws = bucketSize(key);
    const part = this.opts.share / this.opts.concurrency;
    // At least one token of burst, or a container could never send anything.
    return { capacity: Math.max(1, aws.capacity * part), refillPerSecond: aws.refillPerSecond * part };
  }

  /** Waits until a token of `key`'s bucket is free, then takes it. */
  async acquire(key: string): Promise<void> {
    if (!this.enabled) return;
    for (;;) {
      const now = this.now();
      let b = this.buckets.get(key);
      if (!b) {
        const size = this.sizeOf(key);
        b = { tokens: size.capacity, at: now, size };
        this.buckets.set(key, b);
      }
      b.tokens = Math.min(b.size.capacity, b.tokens + (Math.max(0, now - b.at) / 1000) * b.size.refillPerSecond);
      b.at = Math.max(b.at, now);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return;
      }
      const wait = Math.ceil(((1 - b.tokens) / b.size.refillPerSecond) * 1000);
      this.waited.set(key, (this.waited.get(key) ?? 0) + wait);
      await this.sleep(wait);
    }
  }
}

/**
 * Buckets a request of `service`/`action` takes tokens from. SendCommand also takes a CreateTags token: when the
 * command ends, command-status writes the status tag (one CreateTags per command), and command-status has no
 * limiter of its own (EventBridge invokes it as fast as commands end, which is as fast as reconcile sends them).
 */
export function bucketsFor(service: 'ec2' | 'ssm', action: string, input: Record<string, unknown>): string[] {
  if (service === 'ec2') return [ec2BucketKey(action, input)];
  if (action === 'SendCommand') return [`ssm:${action}`, 'ec2:CreateTags'];
  return [`ssm:${action}`];
}

/**
 * Adds the limiter to an SDK client, after the retry middleware: every attempt (retries included) waits for its
 * tokens, so the SDK's retries cannot overspend the share either.
 */
export function limitClient(client: EC2Client | SSMClient, service: 'ec2' | 'ssm', limiter: RateLimiter): void {
  if (!limiter.enabled) return;
  type Args = { input?: unknown };
  const middleware =
    (next: (args: Args) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: Args): Promise<unknown> => {
      const action = String(context.commandName ?? '').replace(/Command$/, '');
      for (const key of bucketsFor(service, action, (args.input ?? {}) as Record<string, unknown>))
        await limiter.acquire(key);
      return next(args);
    };
  (client.middlewareStack as EC2Client['middlewareStack']).addRelativeTo(middleware as never, {
    name: 'eipAutopilotRateLimit',
    relation: 'after',
    toMiddleware: 'retryMiddleware',
  });
}
