import type { Ec2Port } from '../aws/ec2-port';
import type { Config } from '../config';
import { TAG, tagRecord } from '../tags';

/** One row of `eip-autopilot status`. */
export interface StatusRow {
  instanceId: string;
  state: string;
  /** The count tag as written (may be invalid: the status says why). */
  desired: string;
  /** Our addresses (owned or taken from a pool) associated with the instance. */
  actual: number;
  addresses: string[];
  status: string | undefined;
}

/** Every instance with the count tag, in id order: one paginated DescribeInstances and one DescribeAddresses. */
export async function statusTable(ec2: Ec2Port, config: Pick<Config, 'countTagKey'>): Promise<StatusRow[]> {
  const [addresses, rows] = await Promise.all([
    ec2.describeAddresses([{ Name: 'tag-key', Values: [TAG.instanceId] }]),
    (async () => {
      const out: StatusRow[] = [];
      for await (const page of ec2.describeInstancePages([{ Name: 'tag-key', Values: [config.countTagKey] }])) {
        for (const i of page) {
          const tags = tagRecord(i.Tags);
          out.push({
            instanceId: i.InstanceId ?? '',
            state: i.State?.Name ?? '',
            desired: tags[config.countTagKey] ?? '',
            actual: 0,
            addresses: [],
            status: tags[TAG.status],
          });
        }
      }
      return out;
    })(),
  ]);
  const byId = new Map(rows.map((r) => [r.instanceId, r]));
  for (const a of addresses) {
    const owner = tagRecord(a.Tags)[TAG.instanceId];
    const row = owner ? byId.get(owner) : undefined;
    if (row && a.AssociationId && a.InstanceId === owner) {
      row.actual++;
      row.addresses.push(a.PublicIp ?? '');
    }
  }
  for (const r of rows) r.addresses.sort();
  return rows.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}
