import { SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';

/** The narrow SSM port: run the guest document on one instance, don't wait for it. */
export interface SsmPort {
  /** Returns the command id. */
  sendGuestCommand(instanceId: string, documentName: string, reason: string): Promise<string>;
}

/** The SDK adapter behind {@link SsmPort}. */
export function ssmAdapter(client: SSMClient): SsmPort {
  return {
    async sendGuestCommand(instanceId, documentName, reason) {
      const out = await client.send(
        new SendCommandCommand({
          InstanceIds: [instanceId],
          DocumentName: documentName,
          // The comment shows in the console and in the invocation status; SSM caps it at 100 characters.
          Comment: `eip-autopilot: ${reason}`.slice(0, 100),
          TimeoutSeconds: 600,
        }),
      );
      const id = out.Command?.CommandId;
      if (!id) throw new Error('SendCommand response lacks CommandId');
      return id;
    },
  };
}
