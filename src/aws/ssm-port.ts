import {
  DescribeInstanceInformationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';

/** The narrow SSM port: run the guest document on one instance (without waiting), and ask where the last run stands. */
export interface SsmPort {
  /** Returns the command id. */
  sendGuestCommand(instanceId: string, documentName: string, reason: string): Promise<string>;
  /**
   * The SSM status of the newest invocation of the document on the instance (undefined if it never ran there);
   * src/reconcile/status.ts classifies it.
   */
  latestGuestInvocation(instanceId: string, documentName: string): Promise<string | undefined>;
  /** Those of `instanceIds` whose SSM agent is registered and `Online` (SendCommand would reach them). */
  onlineInstances(instanceIds: readonly string[]): Promise<Set<string>>;
}

/** Instance ids per DescribeInstanceInformation call (its InstanceIds filter takes at most 50 values). */
const INFO_IDS = 50;

/** Pages of ListCommandInvocations read at most (50 invocations each) to find the newest of our document. */
const LIST_PAGES = 10;

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
    async latestGuestInvocation(instanceId, documentName) {
      // SSM filters each page after reading it, so a filtered list can answer an empty page with a NextToken (newer
      // invocations of other documents fill it): follow tokens until a page holds ours, at most LIST_PAGES pages.
      // SSM lists the newest first (observed, not documented): the first page holding ours holds our newest; within
      // it, pick by request time anyway.
      let newest: { at: number; status: string | undefined } | undefined;
      let NextToken: string | undefined;
      for (let page = 0; page < LIST_PAGES && newest === undefined; page++) {
        const out = await client.send(
          new ListCommandInvocationsCommand({
            InstanceId: instanceId,
            Filters: [{ key: 'DocumentName', value: documentName }],
            MaxResults: 50,
            ...(NextToken ? { NextToken } : {}),
          }),
        );
        for (const inv of out.CommandInvocations ?? []) {
          const at = inv.RequestedDateTime?.getTime() ?? 0;
          if (newest === undefined || at > newest.at) newest = { at, status: inv.Status };
        }
        NextToken = out.NextToken;
        if (!NextToken) break;
      }
      // Past the bound, undefined ("none"): reconcile then sends the guest document again, which is idempotent.
      return newest?.status;
    },
    async onlineInstances(instanceIds) {
      const online = new Set<string>();
      for (let i = 0; i < instanceIds.length; i += INFO_IDS) {
        let NextToken: string | undefined;
        // Bounded: 50 ids need one page of 50; a NextToken is followed in case SSM pages before it filters.
        for (let page = 0; page < LIST_PAGES; page++) {
          const out = await client.send(
            new DescribeInstanceInformationCommand({
              Filters: [
                { Key: 'InstanceIds', Values: instanceIds.slice(i, i + INFO_IDS) },
                { Key: 'PingStatus', Values: ['Online'] },
              ],
              MaxResults: 50,
              ...(NextToken ? { NextToken } : {}),
            }),
          );
          for (const info of out.InstanceInformationList ?? []) {
            if (info.InstanceId && info.PingStatus === 'Online') online.add(info.InstanceId);
          }
          NextToken = out.NextToken;
          if (!NextToken) break;
        }
      }
      return online;
    },
  };
}
