import { type Clients, makeClients, makeEc2Client, makeSqsClient, makeSsmClient } from './aws/clients';
import { type Ec2Port, ec2Adapter } from './aws/ec2-port';
import { limitClient, RateLimiter } from './aws/rate-limit';
import { type JobReturnPort, jobReturnAdapter, type SqsPort, sqsAdapter } from './aws/sqs-port';
import { type SsmPort, ssmAdapter } from './aws/ssm-port';
import type { Config } from './config';

/** Everything the CLI passes to the core (every port). */
export interface Deps {
  config: Config;
  ec2: Ec2Port;
  ssm: SsmPort;
  sqs: SqsPort;
}

/** Wires every SDK adapter behind its port (clients built once): the CLI. */
export function makeDeps(config: Config, clients: Clients = makeClients()): Deps {
  return { config, ec2: ec2Adapter(clients.ec2), ssm: ssmAdapter(clients.ssm), sqs: sqsAdapter(clients.sqs) };
}

// Per-function factories: each Lambda builds (and bundles) only the clients it calls, which keeps cold starts and
// zips small (target: intake cold start ≤ 140 ms, `npm run bench`). The IAM role of each function (infra/iam.yml)
// allows the same services.

/** intake: events → jobs. SQS only. */
export function intakeDeps(config: Config): Pick<Deps, 'config' | 'sqs'> {
  return { config, sqs: sqsAdapter(makeSqsClient()) };
}

/** sweep: paginated EC2 reads, SSM DescribeInstanceInformation for agentless instances, then jobs on SQS. */
export function sweepDeps(config: Config): Pick<Deps, 'config' | 'ec2' | 'ssm' | 'sqs'> {
  return {
    config,
    ec2: ec2Adapter(makeEc2Client()),
    ssm: ssmAdapter(makeSsmClient()),
    sqs: sqsAdapter(makeSqsClient()),
  };
}

/**
 * reconcile: EC2 reads and writes, SSM SendCommand and ListCommandInvocations, both clients behind one client-side
 * limiter (this container's part of the API rate share, src/aws/rate-limit.ts).
 */
export function reconcileDeps(
  config: Config,
): Pick<Deps, 'config' | 'ec2' | 'ssm'> & { limiter: RateLimiter; jobs: JobReturnPort } {
  const limiter = new RateLimiter({ share: config.apiRateShare, concurrency: config.reconcileConcurrency });
  const ec2 = makeEc2Client();
  const ssm = makeSsmClient();
  limitClient(ec2, 'ec2', limiter);
  limitClient(ssm, 'ssm', limiter);
  return { config, ec2: ec2Adapter(ec2), ssm: ssmAdapter(ssm), limiter, jobs: jobReturnAdapter(makeSqsClient()) };
}

/** command-status: one DescribeInstances and the status tag. EC2 only. */
export function commandStatusDeps(config: Config): Pick<Deps, 'config' | 'ec2'> {
  return { config, ec2: ec2Adapter(makeEc2Client()) };
}
