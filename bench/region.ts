/**
 * Local region throughput: calls per second in-process (the model) and over the wire (real SDK clients against the
 * HTTP server), and the cost of paging 10,000 instances. Prints numbers; asserts nothing.
 */
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  EC2Client,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createRegion } from '#local/region/model/index';
import { startRegionServer } from '#local/region/server';

const credentials = { accessKeyId: 'AKIDLOCALREGION', secretAccessKey: 'local-region-secret' };

async function rate(label: string, n: number, concurrency: number, call: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await call();
    }),
  );
  const ms = performance.now() - started;
  console.log(
    `region  ${label.padEnd(52)} ${String(Math.round((n / ms) * 1000)).padStart(7)} calls/s  (${n} calls, ` +
      `concurrency ${concurrency})`,
  );
}

/** Runs the benchmark and prints one line per measure. */
export async function run(): Promise<void> {
  const region = createRegion({ eipQuota: 1000 });
  await region.ec2('RunInstances', { ImageId: 'ami-1', MinCount: 100, MaxCount: 100 });
  const server = await startRegionServer({ region });
  try {
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: server.url, credentials });
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: server.url, credentials });
    const one =
      (await region.ec2('DescribeInstances', { MaxResults: 5 })).Reservations?.[0]?.Instances?.[0]?.InstanceId ?? '';
    const byId = [{ Name: 'instance-id', Values: [one] }];
    await rate('model DescribeInstances(instance-id)', 5000, 1, () =>
      region.ec2('DescribeInstances', { Filters: byId }),
    );
    await rate('wire  DescribeInstances(instance-id) EC2 Query/XML', 1000, 8, () =>
      ec2.send(new DescribeInstancesCommand({ Filters: byId })),
    );
    await rate('wire  DescribeAddresses EC2 Query/XML', 1000, 8, () => ec2.send(new DescribeAddressesCommand({})));
    await rate('wire  DescribeInstanceInformation SSM JSON 1.1', 1000, 8, () =>
      ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 5 })),
    );
  } finally {
    await server.close();
  }

  const big = createRegion();
  await big.ec2('RunInstances', {
    ImageId: 'ami-1',
    MinCount: 10_000,
    MaxCount: 10_000,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'eip-count', Value: '1' }] }],
  });
  const bigServer = await startRegionServer({ region: big });
  try {
    const client = new EC2Client({ region: 'us-east-1', endpoint: bigServer.url, credentials });
    const started = performance.now();
    let pages = 0;
    let instances = 0;
    for await (const page of paginateDescribeInstances(
      { client, pageSize: 1000 },
      { Filters: [{ Name: 'tag-key', Values: ['eip-count'] }] },
    )) {
      pages++;
      for (const r of page.Reservations ?? []) instances += r.Instances?.length ?? 0;
    }
    console.log(
      `region  wire  DescribeInstances over 10,000 instances: ${pages} pages, ${instances} instances, ` +
        `${Math.round(performance.now() - started)} ms`,
    );
  } finally {
    await bigServer.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
