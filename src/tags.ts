/** Fixed tag keys written by eip-autopilot (IAM conditions in the stack rely on them; not configurable). */
export const TAG = {
  managed: 'eip-autopilot:managed',
  instanceId: 'eip-autopilot:instance-id',
  pool: 'eip-autopilot:pool',
  status: 'eip-autopilot:status',
  /** On an address whose private IP we assigned: unassign that IP when the address goes. */
  assignedIp: 'eip-autopilot:assigned-ip',
} as const;

/** Prefix of the Description of every ENI we create (DescribeInstances shows descriptions, not ENI tags). */
export const ENI_DESCRIPTION_PREFIX = 'eip-autopilot managed ENI';

/** EC2 tag values are limited to 256 characters. */
export const MAX_TAG_VALUE = 256;

/** Turns an SDK tag list into a record. */
export function tagRecord(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined) {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}
