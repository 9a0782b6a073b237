import type { EventRule } from './eventbridge/rules';
import { matchesPattern, validatePattern } from './eventbridge/pattern';
import type { RegionEvent } from './region/model/index';

/** Something a rule delivers to: in the local stack, a Lambda handler invoked with the event. */
export interface BusTarget {
  id: string;
  invoke(event: RegionEvent): Promise<unknown>;
  /** The target's dead-letter queue (logical id): where an event goes once every attempt failed. */
  deadLetterQueue?: string | undefined;
}

/** An EventBridge rule on the local bus: an event pattern, or a schedule fired by {@link LocalBus.fireSchedule}. */
export interface BusRule {
  name: string;
  pattern?: Record<string, unknown>;
  schedule?: string;
  targets: BusTarget[];
}

/** One delivery attempt, for tests and the demo's progress lines. */
export interface Delivery {
  rule: string;
  target: string;
  eventId: string;
  detailType: string;
  ok: boolean;
  /** Invocations made: 1, plus Lambda's asynchronous retries while it failed. */
  attempts: number;
  error?: string;
}

/** An event whose target failed on every attempt: in its dead-letter queue, or lost (`queue` undefined). */
export interface DeadLetter {
  rule: string;
  target: string;
  queue: string | undefined;
  event: RegionEvent;
  error: string;
}

/** Options of the bus. */
export interface BusOptions {
  account?: string;
  region?: string;
  clock?: () => number;
  /**
   * EventBridge delivery is best effort: return true to drop an event before routing (tests use it to prove that
   * the sweep repairs a missed event).
   */
  dropWhen?: (event: RegionEvent) => boolean;
  /** Retries of a failed invocation (Lambda's asynchronous invocation: 2 by default, 0..2 configurable). */
  asyncRetries?: number;
}

/**
 * A local EventBridge bus: every event put on it is matched against each rule's pattern with the same matcher the
 * stack tests use (`local/eventbridge/pattern.ts`), and handed to the rule's targets asynchronously, like
 * EventBridge's asynchronous Lambda invocation. A failing target is invoked again up to twice (Lambda's async
 * retries, without their 1- and 2-minute delays), then the event goes to the target's dead-letter queue
 * ({@link LocalBus.deadLetters}), or is lost when the target has none, as in AWS.
 */
export class LocalBus {
  private readonly rules: BusRule[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  readonly deliveries: Delivery[] = [];
  readonly dropped: RegionEvent[] = [];
  readonly deadLetters: DeadLetter[] = [];
  private scheduleCount = 0;

  constructor(private readonly opts: BusOptions = {}) {}

  /** Adds a rule; its pattern is validated like PutRule does (InvalidPatternError on a bad one). */
  addRule(rule: BusRule): void {
    if (!rule.pattern && !rule.schedule)
      throw new Error(`rule ${rule.name} has neither an event pattern nor a schedule`);
    if (rule.pattern) validatePattern(rule.pattern);
    this.rules.push(rule);
  }

  /**
   * Adds the rules of the packaged stack (`eventRulesFromTemplate`), each target resolved to a function by its
   * handler path (e.g. `functions/intake/handler.handler`).
   */
  addTemplateRules(rules: EventRule[], invoke: (handler: string, event: RegionEvent) => Promise<unknown>): void {
    for (const rule of rules) {
      this.addRule({
        name: rule.logicalId,
        pattern: rule.pattern,
        schedule: rule.schedule,
        targets: rule.targets.map((t) => ({
          id: `${t.functionLogicalId}/${t.id}`,
          deadLetterQueue: t.deadLetterQueue,
          invoke: (event) => invoke(t.handler, event),
        })),
      });
    }
  }

  /** Routes one event; returns the names of the rules it matched. Deliveries run in the background. */
  put(event: RegionEvent): string[] {
    if (this.opts.dropWhen?.(event)) {
      this.dropped.push(event);
      return [];
    }
    const matched = this.rules.filter((r) => r.pattern && matchesPattern(r.pattern, event));
    for (const rule of matched) for (const target of rule.targets) this.deliver(rule, target, event);
    return matched.map((r) => r.name);
  }

  /** Fires the schedule rules (all, or the one named) with a `Scheduled Event`, as EventBridge Scheduler would. */
  fireSchedule(name?: string): void {
    const now = (this.opts.clock ?? Date.now)();
    for (const rule of this.rules.filter((r) => r.schedule && (name === undefined || r.name === name))) {
      this.scheduleCount += 1;
      const event: RegionEvent = {
        version: '0',
        id: `00000000-0000-4000-8000-${String(this.scheduleCount).padStart(12, '0')}`,
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: this.opts.account ?? '123456789012',
        time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.opts.region ?? 'us-east-1',
        resources: [
          `arn:aws:events:${this.opts.region ?? 'us-east-1'}:${this.opts.account ?? '123456789012'}:rule/${rule.name}`,
        ],
        detail: {},
      };
      for (const target of rule.targets) this.deliver(rule, target, event);
    }
  }

  private deliver(rule: BusRule, target: BusTarget, event: RegionEvent): void {
    const record: Delivery = {
      rule: rule.name,
      target: target.id,
      eventId: event.id,
      detailType: event['detail-type'],
      ok: true,
      attempts: 0,
    };
    this.deliveries.push(record);
    const retries = this.opts.asyncRetries ?? 2;
    const run = (async () => {
      // Asynchronous like EventBridge: the producer's API call never waits for the consumer.
      await Promise.resolve();
      let error = '';
      while (record.attempts <= retries) {
        record.attempts += 1;
        try {
          await target.invoke(structuredClone(event));
          return;
        } catch (e) {
          error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        }
      }
      record.ok = false;
      record.error = error;
      this.deadLetters.push({ rule: rule.name, target: target.id, queue: target.deadLetterQueue, event, error });
    })().finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Resolves once every delivery started so far (and any they triggered) has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Subscribes the bus to a region's events; returns the unsubscribe function. */
  attach(region: { onEvent(listener: (event: RegionEvent) => void): () => void }): () => void {
    return region.onEvent((event) => {
      this.put(event);
    });
  }
}
