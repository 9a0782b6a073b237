import { isThrottling } from '../errors';
import type { ReconcileOutcome } from './reconcile';

/** Whether a reconcile ended because AWS throttled it (a thrown read, or a failed action), after the SDK's retries. */
export function wasThrottled(outcome: ReconcileOutcome | undefined, thrown: unknown): boolean {
  if (thrown !== undefined) return isThrottling(thrown);
  return outcome?.results.some((o) => o.result === 'failed' && isThrottling(o.cause)) ?? false;
}

/** First pause before reconciling a throttled instance again, and the cap of the exponential growth. */
export const THROTTLE_BASE_MS = 1_000;
export const THROTTLE_CAP_MS = 16_000;

/**
 * Visibility timeout (seconds) a job still throttled when its invocation's time ran out is handed back with:
 * uniform in [30, 90], instead of the queue's 720 s, so throttled jobs come back soon and not all at once.
 */
export function throttleReturnSeconds(random: () => number = Math.random): number {
  return 30 + Math.round(random() * 60);
}

/**
 * Pause before the `attempt`-th rerun of a throttled reconcile: "full jitter" (uniform in [base/2, min(cap, base ×
 * 2^(attempt-1))]), so the containers throttled together do not come back together.
 */
export function throttleRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(THROTTLE_CAP_MS, THROTTLE_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const floor = THROTTLE_BASE_MS / 2;
  return Math.round(floor + random() * Math.max(0, ceiling - floor));
}
