import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { RegionError } from './region/model/errors';
import { createRng, type Rng } from './region/model/rng';

/** Options of one local FIFO queue; defaults are SQS's. */
export interface FifoQueueOptions {
  /** Queue name; must end in `.fifo` like SQS requires. */
  name: string;
  /** Queue URL (default `http://sqs.localhost/<account>/<name>`: `.localhost` always resolves to loopback). */
  url?: string;
  accountId?: string;
  region?: string;
  /** Default visibility timeout (SQS default 30 s). */
  visibilityTimeoutMs?: number;
  /** Deduplication window (SQS: 5 minutes, fixed). */
  dedupWindowMs?: number;
  /** SHA-256 of the body as deduplication id when none is given. */
  contentBasedDeduplication?: boolean;
  /** Redrive policy: after this many receives the message moves to `deadLetterQueue`. */
  maxReceiveCount?: number;
  deadLetterQueue?: FifoQueue;
  clock?: () => number;
  seed?: number;
}

/** A message as ReceiveMessage returns it (the SDK's shape). */
export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody: string;
  Attributes: Record<string, string>;
}

interface StoredMessage {
  id: string;
  body: string;
  groupId: string;
  dedupId: string;
  sequence: string;
  sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** Set while in flight. */
  receipt?: string;
  visibleAt: number;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/**
 * A local SQS FIFO queue with the semantics the job queue relies on: messages of one group are delivered in order
 * and **at most one message per group is in flight** (stricter than SQS, which may hand several messages of one
 * group to the same receive; it makes "one reconcile per instance at a time" hold for any batch size); a
 * deduplication window per MessageDeduplicationId; a visibility timeout after which an undeleted message is
 * redelivered; and a redrive policy to a dead-letter queue after `maxReceiveCount` receives.
 */
export class FifoQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  private readonly region: string;
  private readonly messages: StoredMessage[] = [];
  private readonly dedup = new Map<string, { messageId: string; sequence: string; at: number }>();
  private sequence = 0n;
  private readonly now: () => number;
  private readonly rng: Rng;

  constructor(private readonly opts: FifoQueueOptions) {
    if (!opts.name.endsWith('.fifo'))
      throw new RegionError(
        'InvalidParameterValue',
        'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with ' +
          '.fifo suffix',
      );
    const account = opts.accountId ?? '123456789012';
    this.region = opts.region ?? 'us-east-1';
    this.name = opts.name;
    this.url = opts.url ?? `http://sqs.localhost/${account}/${opts.name}`;
    this.arn = `arn:aws:sqs:${this.region}:${account}:${opts.name}`;
    this.now = opts.clock ?? Date.now;
    this.rng = createRng(opts.seed ?? 7);
  }

  /** SendMessage. Returns the original MessageId for a duplicate inside the deduplication window. */
  send(input: {
    MessageBody?: string;
    MessageGroupId?: string;
    MessageDeduplicationId?: string;
    DelaySeconds?: number;
  }): {
    MessageId: string;
    MD5OfMessageBody: string;
    SequenceNumber: string;
  } {
    const body = input.MessageBody;
    if (body === undefined || body === '')
      throw new RegionError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(body) > 256 * 1024)
      throw new RegionError('InvalidParameterValue', 'Message must be shorter than 262144 bytes.');
    if (!input.MessageGroupId)
      throw new RegionError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
    if (input.DelaySeconds) {
      throw new RegionError(
        'InvalidParameterValue',
        'Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for ' +
          'this queue type.',
      );
    }
    let dedupId = input.MessageDeduplicationId;
    if (!dedupId) {
      if (!this.opts.contentBasedDeduplication) {
        throw new RegionError(
          'InvalidParameterValue',
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided ' +
            'explicitly',
        );
      }
      dedupId = createHash('sha256').update(body).digest('hex');
    }
    const now = this.now();
    const window = this.opts.dedupWindowMs ?? 300_000;
    for (const [key, seen] of this.dedup) if (now - seen.at >= window) this.dedup.delete(key);
    const seen = this.dedup.get(dedupId);
    if (seen) return { MessageId: seen.messageId, MD5OfMessageBody: md5(body), SequenceNumber: seen.sequence };
    this.sequence += 1n;
    const msg: StoredMessage = {
      id: this.rng.uuid(),
      body,
      groupId: input.MessageGroupId,
      dedupId,
      sequence: this.sequence.toString().padStart(20, '0'),
      sentAt: now,
      receiveCount: 0,
      visibleAt: now,
    };
    this.messages.push(msg);
    this.dedup.set(dedupId, { messageId: msg.id, sequence: msg.sequence, at: now });
    return { MessageId: msg.id, MD5OfMessageBody: md5(body), SequenceNumber: msg.sequence };
  }

  /** ReceiveMessage: the head of every group with nothing in flight, in send order, up to `max` (1–10). */
  receive(input: { MaxNumberOfMessages?: number; VisibilityTimeout?: number } = {}): ReceivedMessage[] {
    const max = input.MaxNumberOfMessages ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw new RegionError(
        'InvalidParameterValue',
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const now = this.now();
    const visibility =
      input.VisibilityTimeout !== undefined
        ? input.VisibilityTimeout * 1000
        : (this.opts.visibilityTimeoutMs ?? 30_000);
    const blocked = new Set<string>();
    const out: ReceivedMessage[] = [];
    for (const msg of [...this.messages]) {
      if (out.length >= max) break;
      if (blocked.has(msg.groupId)) continue;
      blocked.add(msg.groupId);
      if (msg.receipt && msg.visibleAt > now) continue;
      const limit = this.opts.maxReceiveCount;
      if (limit !== undefined && msg.receiveCount >= limit && this.opts.deadLetterQueue) {
        // Redrive: the message leaves for the DLQ on the receive that would exceed maxReceiveCount.
        this.remove(msg);
        this.opts.deadLetterQueue.send({
          MessageBody: msg.body,
          MessageGroupId: msg.groupId,
          MessageDeduplicationId: `${msg.dedupId}:${msg.id}`,
        });
        blocked.delete(msg.groupId);
        continue;
      }
      msg.receiveCount += 1;
      msg.firstReceiveAt ??= now;
      msg.receipt = `${msg.id}#${this.rng.hex(16)}`;
      msg.visibleAt = now + visibility;
      out.push({
        MessageId: msg.id,
        ReceiptHandle: msg.receipt,
        Body: msg.body,
        MD5OfBody: md5(msg.body),
        Attributes: {
          ApproximateReceiveCount: String(msg.receiveCount),
          ApproximateFirstReceiveTimestamp: String(msg.firstReceiveAt),
          SentTimestamp: String(msg.sentAt),
          SenderId: 'AIDAEXAMPLELOCALREGION',
          MessageGroupId: msg.groupId,
          MessageDeduplicationId: msg.dedupId,
          SequenceNumber: msg.sequence,
        },
      });
    }
    return out;
  }

  private byReceipt(handle: string | undefined): StoredMessage | undefined {
    if (!handle) throw new RegionError('MissingParameter', 'The request must contain the parameter ReceiptHandle.');
    return this.messages.find((m) => m.receipt === handle);
  }

  private remove(msg: StoredMessage): void {
    const at = this.messages.indexOf(msg);
    if (at >= 0) this.messages.splice(at, 1);
  }

  /** DeleteMessage. A stale receipt handle is accepted silently, as SQS does once the message is gone. */
  delete(receiptHandle: string | undefined): void {
    const msg = this.byReceipt(receiptHandle);
    if (msg) this.remove(msg);
  }

  /** ChangeMessageVisibility: 0 makes the message (and its group) available at once. */
  changeVisibility(receiptHandle: string | undefined, seconds: number): void {
    const msg = this.byReceipt(receiptHandle);
    if (!msg)
      throw new RegionError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`,
      );
    if (seconds < 0 || seconds > 43_200)
      throw new RegionError('InvalidParameterValue', 'VisibilityTimeout must be between 0 and 43200 seconds.');
    msg.visibleAt = this.now() + seconds * 1000;
  }

  /** Messages waiting and in flight (GetQueueAttributes' approximate counts, here exact). */
  counts(): { visible: number; inFlight: number } {
    const now = this.now();
    const inFlight = this.messages.filter((m) => m.receipt && m.visibleAt > now).length;
    return { visible: this.messages.length - inFlight, inFlight };
  }

  /**
   * How many messages a receive would return now: the heads of the groups with nothing in flight (a visible message
   * behind an in-flight one of its group is not receivable).
   */
  receivable(): number {
    const now = this.now();
    const blocked = new Set<string>();
    let count = 0;
    for (const msg of this.messages) {
      if (blocked.has(msg.groupId)) continue;
      blocked.add(msg.groupId);
      if (!(msg.receipt && msg.visibleAt > now)) count += 1;
    }
    return count;
  }

  /** Clock time at which the earliest in-flight message becomes visible again (undefined: none in flight). */
  nextVisibleAt(): number | undefined {
    const now = this.now();
    const times = this.messages.filter((m) => m.receipt && m.visibleAt > now).map((m) => m.visibleAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** GetQueueAttributes in SQS's names. */
  attributes(): Record<string, string> {
    const { visible, inFlight } = this.counts();
    return {
      QueueArn: this.arn,
      FifoQueue: 'true',
      ContentBasedDeduplication: String(this.opts.contentBasedDeduplication ?? false),
      VisibilityTimeout: String(Math.round((this.opts.visibilityTimeoutMs ?? 30_000) / 1000)),
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ...(this.opts.deadLetterQueue && this.opts.maxReceiveCount !== undefined
        ? {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: this.opts.deadLetterQueue.arn,
              maxReceiveCount: this.opts.maxReceiveCount,
            }),
          }
        : {}),
    };
  }

  /** Builds the Lambda event for received messages, as the SQS event source mapping does. */
  toEvent(messages: ReceivedMessage[]): SQSEvent {
    return {
      Records: messages.map(
        (m): SQSRecord => ({
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          attributes: m.Attributes as unknown as SQSRecord['attributes'],
          messageAttributes: {},
          md5OfBody: m.MD5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: this.arn,
          awsRegion: this.region,
        }),
      ),
    };
  }
}

/** A Lambda-style consumer of SQS batches. */
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

/**
 * One poll of the event source mapping: receive a batch, invoke the handler, delete what succeeded. With
 * `ReportBatchItemFailures`, the ids in `batchItemFailures` stay in flight and come back after the visibility
 * timeout; a thrown handler fails the whole batch. Returns how many records were delivered.
 */
export async function deliverOnce(queue: FifoQueue, handler: SqsHandler, batchSize = 10): Promise<number> {
  const messages = queue.receive({ MaxNumberOfMessages: batchSize });
  if (messages.length === 0) return 0;
  let failed: Set<string>;
  try {
    const response = await handler(queue.toEvent(messages));
    failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  } catch {
    failed = new Set(messages.map((m) => m.MessageId));
  }
  for (const m of messages) if (!failed.has(m.MessageId)) queue.delete(m.ReceiptHandle);
  return messages.length;
}

/** The queues of one local account, looked up by URL or name (GetQueueUrl). */
export class LocalSqs {
  private readonly queues = new Map<string, FifoQueue>();

  /** Registers a queue. */
  add(queue: FifoQueue): FifoQueue {
    this.queues.set(queue.url, queue);
    return queue;
  }

  /** The queue at `url`, or `QueueDoesNotExist` (the SDK's name for `AWS.SimpleQueueService.NonExistentQueue`). */
  byUrl(url: string | undefined): FifoQueue {
    const q = url
      ? (this.queues.get(url) ?? [...this.queues.values()].find((x) => url.endsWith(`/${x.name}`)))
      : undefined;
    if (!q) throw new RegionError('QueueDoesNotExist', 'The specified queue does not exist.');
    return q;
  }

  /** GetQueueUrl by name. */
  byName(name: string | undefined): FifoQueue {
    const q = [...this.queues.values()].find((x) => x.name === name);
    if (!q) throw new RegionError('QueueDoesNotExist', 'The specified queue does not exist.');
    return q;
  }

  /** Every queue. */
  list(): FifoQueue[] {
    return [...this.queues.values()];
  }

  /** Serves one SQS action with the SDK's input/output shapes (used by the SDK mock and the HTTP server). */
  call(action: string, input: Record<string, unknown>): Record<string, unknown> {
    const str = (k: string): string | undefined => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
    switch (action) {
      case 'GetQueueUrl':
        return { QueueUrl: this.byName(str('QueueName')).url };
      case 'GetQueueAttributes':
        return { Attributes: this.byUrl(str('QueueUrl')).attributes() };
      case 'SendMessage':
        return this.byUrl(str('QueueUrl')).send(input as Parameters<FifoQueue['send']>[0]);
      case 'SendMessageBatch': {
        const queue = this.byUrl(str('QueueUrl'));
        const entries = (input.Entries ?? []) as (Parameters<FifoQueue['send']>[0] & { Id: string })[];
        if (entries.length === 0)
          throw new RegionError(
            'EmptyBatchRequest',
            'There should be at least one SendMessageBatchRequestEntry in the request.',
          );
        if (entries.length > 10)
          throw new RegionError('TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
        const Successful: Record<string, unknown>[] = [];
        const Failed: Record<string, unknown>[] = [];
        for (const entry of entries) {
          try {
            Successful.push({ Id: entry.Id, ...queue.send(entry) });
          } catch (e) {
            Failed.push({ Id: entry.Id, SenderFault: true, Code: (e as Error).name, Message: (e as Error).message });
          }
        }
        return { Successful, Failed };
      }
      case 'ReceiveMessage':
        return { Messages: this.byUrl(str('QueueUrl')).receive(input as Parameters<FifoQueue['receive']>[0]) };
      case 'DeleteMessage':
        this.byUrl(str('QueueUrl')).delete(str('ReceiptHandle'));
        return {};
      case 'DeleteMessageBatch': {
        const queue = this.byUrl(str('QueueUrl'));
        const entries = (input.Entries ?? []) as { Id: string; ReceiptHandle: string }[];
        for (const entry of entries) queue.delete(entry.ReceiptHandle);
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      case 'ChangeMessageVisibility':
        this.byUrl(str('QueueUrl')).changeVisibility(str('ReceiptHandle'), Number(input.VisibilityTimeout ?? 0));
        return {};
      default:
        throw new RegionError('UnsupportedOperation', `The local region does not serve SQS ${action}.`);
    }
  }
}
