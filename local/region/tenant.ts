import { hasCode } from './model/errors';
import type { LimitedService, RateLimits } from './limits';

/**
 * A "tenant": the account's other tools (the console, Terraform, Auto Scaling) spending tokens of chosen API actions
 * at a steady rate, so a benchmark can show whether eip-autopilot leaves them enough of each bucket. It spends
 * tokens only (no resources change): what matters to the tenant is whether its requests are admitted.
 */
export interface TenantOptions {
  limits: RateLimits;
  /** The region's clock. */
  now: () => number;
  /** Requests per second per action, e.g. `{ CreateTags: 2, AssociateAddress: 1 }`. */
  rates: Record<string, number>;
  /** Service of the actions (default `ec2`). */
  service?: LimitedService;
}

/** What the tenant sent and what was refused, per action, with clock times. */
export interface TenantLog {
  action: string;
  at: number;
  ok: boolean;
}

/** A running tenant: call {@link Tenant.tick} on the clock (or `start()` a real timer). */
export interface Tenant {
  /** Sends every request due up to now (evenly spaced at each action's rate since the tenant started). */
  tick(): void;
  /** Ticks on a timer every `intervalMs` of timer time; returns the stop function. */
  start(intervalMs?: number): () => void;
  readonly log: TenantLog[];
  /** Requests sent and refused so far, per action. */
  counts(): Record<string, { sent: number; refused: number }>;
  /** Requests not sent because the clock jumped past them. */
  skipped(): number;
}

/** Creates a tenant whose clock starts now. */
export function createTenant(opts: TenantOptions): Tenant {
  const started = opts.now();
  const sent = new Map<string, number>(Object.keys(opts.rates).map((a) => [a, 0]));
  const log: TenantLog[] = [];
  const service = opts.service ?? 'ec2';
  let skipped = 0;
  const tick = () => {
    const now = opts.now();
    for (const [action, rate] of Object.entries(opts.rates)) {
      // The k-th request is due at started + k / rate: the tenant catches up on whatever a coarse timer skipped,
      // up to one second's worth. More than that means the clock jumped (a driven clock skipping idle time): the
      // tenant sent nothing meanwhile, and a burst of catch-up requests would be refused by a bucket no one else used.
      const due = Math.floor(((now - started) / 1000) * rate) + 1;
      const behind = due - (sent.get(action) ?? 0);
      if (behind > Math.max(1, rate)) {
        skipped += behind - Math.max(1, Math.floor(rate));
        sent.set(action, due - Math.max(1, Math.floor(rate)));
      }
      for (let k = sent.get(action) ?? 0; k < due; k++) {
        let ok = true;
        try {
          opts.limits.take(service, action, { Filters: [{ Name: 'tenant' }] }, 'tenant');
        } catch (e) {
          if (
            !hasCode(e, 'RequestLimitExceeded') &&
            !hasCode(e, 'ThrottlingException') &&
            !hasCode(e, 'RequestThrottled')
          )
            throw e;
          ok = false;
        }
        log.push({ action, at: now, ok });
      }
      sent.set(action, Math.max(sent.get(action) ?? 0, due));
    }
  };
  return {
    tick,
    start(intervalMs = 50) {
      const timer = setInterval(tick, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    log,
    skipped: () => skipped,
    counts() {
      const out: Record<string, { sent: number; refused: number }> = {};
      for (const action of Object.keys(opts.rates)) out[action] = { sent: 0, refused: 0 };
      for (const entry of log) {
        const c = out[entry.action] as { sent: number; refused: number };
        c.sent += 1;
        if (!entry.ok) c.refused += 1;
      }
      return out;
    },
  };
}
