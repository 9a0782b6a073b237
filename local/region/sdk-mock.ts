import * as ec2 from '@aws-sdk/client-ec2';
import * as sqs from '@aws-sdk/client-sqs';
import * as ssm from '@aws-sdk/client-ssm';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import type { LocalSqs } from '../sqs-fifo';
import { EC2_ACTIONS, type Region, RegionError, SSM_ACTIONS } from './model/index';

/** The SQS actions served by the local queues. */
export const SQS_ACTIONS = [
  'GetQueueUrl',
  'GetQueueAttributes',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
] as const;

/** Outputs carry `$metadata` like every SDK output. */
interface MetadataBearer {
  $metadata: object;
}
type AnyStub = AwsStub<object, MetadataBearer, object>;
type CommandCtor = new (input: never) => object;

function wire(
  stub: AnyStub,
  module: Record<string, unknown>,
  actions: readonly string[],
  call: (action: string, input: object) => Promise<object>,
): void {
  // Any command the region does not serve fails loudly instead of resolving to undefined (the library's default).
  stub.onAnyCommand().callsFake((input: object) => {
    throw new RegionError(
      'UnsupportedOperation',
      `The local region does not serve this command (input ${JSON.stringify(input)})`,
    );
  });
  let requests = 0;
  for (const action of actions) {
    const command = module[`${action}Command`] as CommandCtor | undefined;
    if (!command) throw new Error(`SDK has no ${action}Command`);
    stub.on(command as never).callsFake(async (input: object) => {
      const output = await call(action, input);
      requests += 1;
      return {
        ...output,
        $metadata: { httpStatusCode: 200, requestId: `local-${requests}`, attempts: 1, totalRetryDelay: 0 },
      };
    });
  }
}

/** The stubs installed by {@link mockRegion}. */
export interface RegionMocks {
  ec2: AnyStub;
  ssm: AnyStub;
  sqs?: AnyStub;
  /** Restores the real SDK clients. */
  restore(): void;
}

/**
 * Puts the region behind `aws-sdk-client-mock`: every EC2Client / SSMClient (and SQSClient when `queues` is given)
 * created afterwards — or the given instances — answers from the model, so the real SDK adapter code runs against
 * it without a network. SDK middleware (retries, signing, serialization) is bypassed on this path; the HTTP server
 * (`server.ts`) is the path that exercises it.
 */
export function mockRegion(
  region: Region,
  queues?: LocalSqs,
  clients: { ec2?: ec2.EC2Client; ssm?: ssm.SSMClient; sqs?: sqs.SQSClient } = {},
): RegionMocks {
  const ec2Stub = mockClient(clients.ec2 ?? ec2.EC2Client) as unknown as AnyStub;
  const ssmStub = mockClient(clients.ssm ?? ssm.SSMClient) as unknown as AnyStub;
  wire(ec2Stub, ec2, EC2_ACTIONS, (action, input) => region.ec2(action as never, input as never) as Promise<object>);
  wire(ssmStub, ssm, SSM_ACTIONS, (action, input) => region.ssm(action as never, input as never) as Promise<object>);
  let sqsStub: AnyStub | undefined;
  if (queues) {
    sqsStub = mockClient(clients.sqs ?? sqs.SQSClient) as unknown as AnyStub;
    wire(sqsStub, sqs, SQS_ACTIONS, async (action, input) =>
      queues.call(action, structuredClone(input) as Record<string, unknown>),
    );
  }
  return {
    ec2: ec2Stub,
    ssm: ssmStub,
    sqs: sqsStub,
    restore() {
      ec2Stub.restore();
      ssmStub.restore();
      sqsStub?.restore();
    },
  };
}
