import type { Ec2Port } from '../aws/ec2-port';
import { TAG } from '../tags';
import { statusAfterGuest } from './status';

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
