/**
 * Lambda's asynchronous invocation, as EventBridge uses it: the event is accepted at once (the caller never waits
 * for the function), the function runs, and a function error is retried twice, about one minute and then two
 * minutes later ("Asynchronous invocation", Lambda developer guide: MaximumRetryAttempts 2, MaximumEventAgeInSeconds
 * 6 hours). After the last attempt the event is dropped (the stack gives these functions no on-failure destination);
 * it is recorded in `failures`. Retry times are on the deployment's driven clock: `tick()` starts the due ones and
 * `nextRetryAt()` tells `settle()` how far it may jump. Unreserved concurrency: nothing waits for a free container.
 */
export interface AsyncInvokeOptions {
  now: () => number;
  /** Delay before each retry (default one and two minutes). */
  retryDelaysMs?: number[];
  /** Events older than this are not retried (default 6 hours). */
  maxEventAgeMs?: number;
}

/** One event that failed every attempt. */
export interface AsyncFailure {
  name: string;
  attempts: number;
  error: string;
}

interface Pending {
  name: string;
  run: (attempt: number) => Promise<unknown>;
  attempt: number;
  firstAt: number;
  dueAt: number;
}

/** Runs asynchronous invocations with Lambda's retry behaviour. */
export class AsyncInvoker {
  private readonly waiting: Pending[] = [];
  private readonly running = new Set<Promise<void>>();
  readonly failures: AsyncFailure[] = [];
  /** Invocations started (first attempts and retries). */
  attempts = 0;

  constructor(private readonly opts: AsyncInvokeOptions) {}

  /** Accepts an event for function `name`: `run(attempt)` invokes it (attempt 1, 2, 3). */
  invoke(name: string, run: (attempt: number) => Promise<unknown>): void {
    const now = this.opts.now();
    this.start({ name, run, attempt: 1, firstAt: now, dueAt: now });
  }

  private start(item: Pending): void {
    this.attempts += 1;
    const p = (async () => {
      await Promise.resolve();
      try {
        await item.run(item.attempt);
      } catch (e) {
        const delays = this.opts.retryDelaysMs ?? [60_000, 120_000];
        const delay = delays[item.attempt - 1];
        const now = this.opts.now();
        if (delay !== undefined && now + delay - item.firstAt <= (this.opts.maxEventAgeMs ?? 6 * 3_600_000)) {
          this.waiting.push({ ...item, attempt: item.attempt + 1, dueAt: now + delay });
        } else {
          this.failures.push({
            name: item.name,
            attempts: item.attempt,
            error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
          });
        }
      }
    })().finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Starts every retry that is due on the clock. */
  tick(): void {
    const now = this.opts.now();
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const item = this.waiting[i] as Pending;
      if (item.dueAt <= now) {
        this.waiting.splice(i, 1);
        this.start(item);
      }
    }
  }

  /** Clock time of the next retry (undefined: none waiting). */
  nextRetryAt(): number | undefined {
    return this.waiting.length > 0 ? Math.min(...this.waiting.map((w) => w.dueAt)) : undefined;
  }

  /** Resolves once every invocation started so far has finished (retries waiting on the clock do not count). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Ticks on a timer; returns the function that stops it. */
  startClock(intervalMs = 50): () => void {
    const timer = setInterval(() => this.tick(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
