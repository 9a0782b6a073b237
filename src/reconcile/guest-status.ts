import type { Ec2Port } from '../aws/ec2-port';
import { TAG } from '../tags';
import { statusValue } from './plan';

/** SSM invocation statuses that end an invocation without success. */
const FAILED = new Set([
  'Failed',
  'TimedOut',
  'Cancelled',
  'Cancelling',
  'DeliveryTimedOut',
  'Delivery Timed Out',
  'ExecutionTimedOut',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);

/**
 * The status tag after a guest invocation ends (pure), or undefined when nothing changes: `syncing k/n` becomes
 * `ok k/n` on success; a failure becomes `guest failed: <status> (k/n)`. Non-final statuses change nothing, and
 * a success does not overwrite an error or degraded status that reconcile wrote since.
 */
export function statusAfterGuest(current: string | undefined, invocationStatus: string): string | undefined {
  const counts = current?.match(/(\d+\/\d+)/)?.[1];
  if (invocationStatus === 'Success') {
    if (current?.startsWith('syncing ') || current?.startsWith('guest failed')) return counts ? `ok ${counts}` : 'ok';
    return undefined;
  }
  if (FAILED.has(invocationStatus)) {
    if (current?.startsWith('error:')) return undefined;
    return statusValue(`guest failed: ${invocationStatus}${counts ? ` (${counts})` : ''}`);
  }
  return undefined;
}

/** Applies an invocation status to the instance's status tag (one read, at most one write). */
export async function recordGuestResult(
  ec2: Ec2Port,
  instanceId: string,
  invocationStatus: string,
): Promise<{ before: string | undefined; after: string | undefined }> {
  const instance = await ec2.describeInstance(instanceId);
  if (!instance) return { before: undefined, after: undefined };
  const before = instance.Tags?.find((t) => t.Key === TAG.status)?.Value;
  const after = statusAfterGuest(before, invocationStatus);
  if (after !== undefined && after !== before) {
    await ec2.createTags({ Resources: [instanceId], Tags: [{ Key: TAG.status, Value: after }] });
  }
  return { before, after };
}
