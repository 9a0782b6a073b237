import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';

/** The three SDK clients, built once per process and passed down. */
export interface Clients {
  ec2: EC2Client;
  ssm: SSMClient;
  sqs: SQSClient;
}

/**
 * Builds the clients with adaptive retry (client-side rate limiting on throttling, plus backoff on transient
 * errors). Region and endpoint come from the standard SDK environment (AWS_REGION, AWS_ENDPOINT_URL).
 */
export function makeClients(): Clients {
  const common = { retryMode: 'adaptive', maxAttempts: 5 } as const;
  return { ec2: new EC2Client(common), ssm: new SSMClient(common), sqs: new SQSClient(common) };
}
