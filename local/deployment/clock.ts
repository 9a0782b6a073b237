/**
 * The deployment's one driven clock: real time plus an offset. {@link settle} moves it forward when nothing is left
 * to do but wait (a state transition, an SQS redelivery, the sweep schedule when on), so a 12-minute visibility
 * timeout costs nothing.
 */
import type { FifoQueue } from '../sqs-fifo';
import type { Trace } from './trace';

/** Real time plus an offset that only moves forward. */
export class DrivenClock {
  private offset = 0;

  constructor(
    private readonly onAdvance: (ms: number, why: string) => void,
    private readonly trace: (t: Trace) => void,
  ) {}

  /** Milliseconds since the epoch, on the driven clock. */
  readonly now = (): number => Date.now() + this.offset;

  /** Moves the clock forward, lets the region apply due transitions, and traces why. */
  readonly advance = (ms: number, why: string): void => {
    this.offset += ms;
    this.onAdvance(ms, why);
    this.trace({ kind: 'clock', advancedMs: ms, why });
  };
}

/** Milliseconds of a `rate(N minute[s]|hour[s]|day[s])` schedule expression. */
export function rateMs(expression: string): number {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  if (!m) throw new Error(`not a rate expression: ${expression}`);
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2] as 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}

/** What {@link settle} waits on. */
export interface Settleable {
  clock: DrivenClock;
  quiesce(): Promise<void>;
  nextTransitionAt(): number | undefined;
  jobs: FifoQueue;
  /** The sweep schedule, when the deployment fires it on driven time (`nextAt` undefined: off). */
  sweep?: { nextAt(): number | undefined; fire(): void };
}

/**
 * Quiesces, then, while `until` is false, moves the clock to the next thing that waits on time and quiesces again.
 * Without `until`, runs until nothing waits. Throws when `until` is still false and nothing is left to wait for, or
 * after `maxSimulatedMs` of driven time.
 */
export async function settle(
  s: Settleable,
  until?: () => boolean | Promise<boolean>,
  opts: { maxSimulatedMs?: number; what?: string } = {},
): Promise<void> {
  const { clock, jobs } = s;
  const start = clock.now();
  const max = opts.maxSimulatedMs ?? 3_600_000;
  for (;;) {
    await s.quiesce();
    if (until && (await until())) return;
    const sweepAt = s.sweep?.nextAt();
    if (sweepAt !== undefined && sweepAt <= clock.now()) {
      s.sweep?.fire();
      continue;
    }
    const candidates = [s.nextTransitionAt(), jobs.nextVisibleAt(), sweepAt].filter(
      (t): t is number => t !== undefined,
    );
    if (candidates.length === 0) {
      if (!until) return;
      throw new Error(
        `settled without ${opts.what ?? 'the expected outcome'}: nothing left in flight or waiting on time`,
      );
    }
    const next = Math.min(...candidates);
    if (next - start > max)
      throw new Error(`no ${opts.what ?? 'expected outcome'} after ${Math.round(max / 1000)} s of driven time`);
    const why =
      next === jobs.nextVisibleAt()
        ? 'SQS visibility timeout: the job comes back'
        : next === sweepAt
          ? 'sweep schedule'
          : 'instance state transition';
    clock.advance(Math.max(0, next - clock.now()), why);
  }
}
