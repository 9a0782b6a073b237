import {
  type CommandInvocationStatus,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { GuestCommandState } from '../reconcile/observe';

/** The narrow SSM port: run the guest document on one instance (without waiting), and ask where the last run stands. */
export interface SsmPort {
  /** Returns the command id. */
  sendGuestCommand(instanceId: string, documentName: string, reason: string): Promise<string>;
  /** The state of the newest invocation of the document on the instance (`none` if it never ran there). */
  latestGuestCommand(instanceId: string, documentName: string): Promise<GuestCommandState>;
}

// A command still on its way: `Delayed` is an agent that is registered but unreachable (until TimeoutSeconds).
const IN_FLIGHT: ReadonlySet<CommandInvocationStatus | string> = new Set(['Pending', 'InProgress', 'Delayed']);

/** Maps an invocation status to what reconcile needs to know (pure). */
export function guestCommandState(status: string | undefined): GuestCommandState {
  if (status === undefined) return 'none';
  if (IN_FLIGHT.has(status)) return 'in-flight';
  return status === 'Success' ? 'succeeded' : 'failed';
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
    async latestGuestCommand(instanceId, documentName) {
      const out = await client.send(
        new ListCommandInvocationsCommand({
          InstanceId: instanceId,
          Filters: [{ key: 'DocumentName', value: documentName }],
          MaxResults: 50,
        }),
      );
      // SSM lists the newest first (one page is enough), but does not document the order: pick by request time.
      const newest = (out.CommandInvocations ?? []).reduce<{ at: number; status: string | undefined } | undefined>(
        (best, inv) => {
          const at = inv.RequestedDateTime?.getTime() ?? 0;
          return best === undefined || at > best.at ? { at, status: inv.Status } : best;
        },
        undefined,
      );
      return guestCommandState(newest?.status);
    },
  };
}
