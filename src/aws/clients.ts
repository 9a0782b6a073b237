import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';

/** The three SDK clients, built once per process and passed down (the CLI uses all of them). */
export interface Clients {
  ec2: EC2Client;
  ssm: SSMClient;
  sqs: SQSClient;
}

/**
 * Adaptive retry (client-side rate limiting on throttling, plus backoff on transient errors). Region and endpoint
 * come from the standard SDK environment (AWS_REGION, AWS_ENDPOINT_URL).
 */
const COMMON = { retryMode: 'adaptive', maxAttempts: 5 } as const;

/**
 * One factory per client, so that a Lambda bundle holds only the clients its handler calls: esbuild drops the
 * unused ones (the SDK packages declare `sideEffects: false`), which keeps EC2's ~600-command client out of intake.
 */
export const makeEc2Client = (): EC2Client => new EC2Client(COMMON);
export const makeSsmClient = (): SSMClient => new SSMClient(COMMON);
export const makeSqsClient = (): SQSClient => new SQSClient(COMMON);

/** All three clients (the CLI and tests that drive every port). */
export function makeClients(): Clients {
  return { ec2: makeEc2Client(), ssm: makeSsmClient(), sqs: makeSqsClient() };
}
