import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** One message for the FIFO job queue. */
export interface QueueMessage {
  body: string;
  groupId: string;
  deduplicationId: string;
}

/** The narrow SQS port: send messages to the job queue. */
export interface SqsPort {
  /** Sends all messages (batches of 10); throws when any message was not accepted. */
  send(queueUrl: string, messages: QueueMessage[]): Promise<void>;
}

/** The SDK adapter behind {@link SqsPort}. */
export function sqsAdapter(client: SQSClient): SqsPort {
  return {
    async send(queueUrl, messages) {
      for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((m, n) => ({
              Id: String(n),
              MessageBody: m.body,
              MessageGroupId: m.groupId,
              // SQS allows 128 chars of [A-Za-z0-9] and punctuation; event ids + instance ids fit.
              MessageDeduplicationId: m.deduplicationId.slice(0, 128),
            })),
          }),
        );
        if (out.Failed && out.Failed.length > 0) {
          const first = out.Failed[0];
          throw new Error(`SQS refused ${out.Failed.length} job(s): ${first?.Code} ${first?.Message ?? ''}`.trim());
        }
      }
    },
  };
}

/** reconcile's one SQS call: hand a received job back to the queue sooner than its visibility timeout. */
export interface JobReturnPort {
  /** ChangeMessageVisibility: the job becomes receivable again after `seconds`. */
  returnAfter(queueUrl: string, receiptHandle: string, seconds: number): Promise<void>;
}

/** The SDK adapter behind {@link JobReturnPort} (only ChangeMessageVisibility: reconcile's bundle stays small). */
export function jobReturnAdapter(client: SQSClient): JobReturnPort {
  return {
    async returnAfter(queueUrl, receiptHandle, seconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };
}
