/**
 * Virtual time for a whole process, discrete-event style: `Date.now()`/`new Date()` read a virtual clock, and
 * `setTimeout`/`setInterval` wait on it. The clock stands still while anything is being computed or is on the wire,
 * and jumps to the next timer once the process is quiet (no SDK request in flight, no timer due, several turns of
 * the event loop without new work). So a 1,000-instance burst against EC2's rate limits, which takes ~17 minutes of
 * AWS time, runs as fast as the CPU allows, and CPU time never counts as AWS time: what is measured is the time the
 * API buckets, the pauses and the queues impose. Every component keeps its real proportions (the region's buckets
 * and clock, SQS visibility timeouts, Lambda's async retries, the SDK's backoff, the reconciler's limiter).
 *
 * "In flight" is counted by wrapping the SDK's HTTP handler (`@smithy/node-http-handler`), which every client in
 * the process uses: the requests go over real loopback sockets to the local region, which is the only I/O there is.
 * Only for benchmarks and tests (`restore()` when done); one per process.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** A running virtual clock. */
export interface VirtualTime {
  /** Virtual ms since the epoch. */
  now(): number;
  /** Timers fired and clock jumps so far. */
  stats(): { fired: number; jumps: number };
  /** Puts the real clock and timers back (pending virtual timers are dropped). */
  restore(): void;
}

interface VTimer {
  id: number;
  at: number;
  seq: number;
  fn: (...a: unknown[]) => void;
  args: unknown[];
  delay: number;
  interval?: number;
}

let active: VirtualTime | undefined;

/** Starts virtual time at `start` (default: the real time now). */
export function startVirtualTime(start = Date.now()): VirtualTime {
  if (active) throw new Error('virtual time is already running in this process');
  const RealDate = Date;
  const real = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
    setImmediate: globalThis.setImmediate,
  };
  let now = start;
  let seq = 0;
  let nextId = 1;
  let fired = 0;
  let jumps = 0;
  let inFlight = 0;
  let activity = 0;
  let stopped = false;
  const timers = new Map<number, VTimer>();
  // Fired timeouts, kept (weakly bounded) so that `refresh()` can re-arm them as Node does.
  const fired_ = new Map<number, VTimer>();

  class VirtualDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now);
      else super(...(args as [string]));
    }
    static override now(): number {
      return now;
    }
    // Dates made before, or by structuredClone (which always builds a plain Date), are Dates too.
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof RealDate;
    }
  }

  /** What setTimeout returns: enough of Node's Timeout for the code that runs here (unref, refresh, Number()). */
  class Handle {
    constructor(readonly id: number) {}
    ref() {
      return this;
    }
    unref() {
      return this;
    }
    hasRef() {
      return true;
    }
    refresh() {
      const t = timers.get(this.id) ?? fired_.get(this.id);
      if (t && !timers.has(this.id)) timers.set(this.id, t);
      if (t) t.at = now + t.delay;
      return this;
    }
    [Symbol.toPrimitive]() {
      return this.id;
    }
  }

  const schedule = (fn: (...a: unknown[]) => void, ms: unknown, args: unknown[], interval: boolean) => {
    const delay = Math.max(0, Number(ms ?? 0) || 0);
    const id = nextId++;
    timers.set(id, {
      id,
      at: now + delay,
      seq: seq++,
      fn,
      args,
      delay,
      interval: interval ? Math.max(1, delay) : undefined,
    });
    activity += 1;
    return new Handle(id);
  };
  const clear = (h: unknown) => {
    if (h instanceof Handle) timers.delete(h.id);
    else if (typeof h === 'number' && timers.has(h)) timers.delete(h);
    else real.clearTimeout(h as NodeJS.Timeout);
  };

  globalThis.Date = VirtualDate as DateConstructor;
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    schedule(fn, ms, args, false)) as unknown as typeof setTimeout;
  globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    schedule(fn, ms, args, true)) as unknown as typeof setInterval;
  globalThis.clearTimeout = clear as typeof clearTimeout;
  globalThis.clearInterval = clear as typeof clearInterval;

  const originalHandle = NodeHttpHandler.prototype.handle;
  NodeHttpHandler.prototype.handle = async function handle(this: NodeHttpHandler, ...args) {
    inFlight += 1;
    activity += 1;
    try {
      return await originalHandle.apply(this, args);
    } finally {
      inFlight -= 1;
      activity += 1;
    }
  };

  const fireDue = (): boolean => {
    const due = [...timers.values()].filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const t of due) {
      if (!timers.has(t.id)) continue;
      if (t.interval !== undefined) {
        t.at = now + t.interval;
        t.seq = seq++;
      } else {
        timers.delete(t.id);
        fired_.set(t.id, t);
        if (fired_.size > 10_000) fired_.delete(fired_.keys().next().value as number);
      }
      fired += 1;
      activity += 1;
      try {
        t.fn(...t.args);
      } catch (e) {
        // An uncaught exception in a timer: surface it like Node would, without stopping the clock.
        real.setImmediate(() => {
          throw e;
        });
      }
    }
    return due.length > 0;
  };
  const turn = () => new Promise<void>((resolve) => real.setImmediate(resolve));
  const drive = async () => {
    let quietTurns = 0;
    let seen = activity;
    while (!stopped) {
      await turn();
      if (fireDue()) {
        quietTurns = 0;
        continue;
      }
      if (inFlight > 0 || activity !== seen) {
        seen = activity;
        quietTurns = 0;
        // The wire: give the sockets a real moment instead of spinning.
        if (inFlight > 0) await new Promise<void>((resolve) => real.setTimeout(resolve, 0));
        continue;
      }
      quietTurns += 1;
      if (quietTurns < 3) continue;
      let next: number | undefined;
      for (const t of timers.values()) if (next === undefined || t.at < next) next = t.at;
      if (next === undefined) {
        // Nothing waits on time: only something outside (a real timer, the wire) can bring work.
        await new Promise<void>((resolve) => real.setTimeout(resolve, 1));
        continue;
      }
      // Whole milliseconds, like Date.now(): a fractional delay rounds up to the next millisecond.
      now = Math.max(now, Math.ceil(next));
      jumps += 1;
      quietTurns = 0;
    }
  };
  void drive();

  const vt: VirtualTime = {
    now: () => now,
    stats: () => ({ fired, jumps }),
    restore() {
      stopped = true;
      timers.clear();
      globalThis.Date = RealDate;
      Object.assign(globalThis, {
        setTimeout: real.setTimeout,
        clearTimeout: real.clearTimeout,
        setInterval: real.setInterval,
        clearInterval: real.clearInterval,
      });
      NodeHttpHandler.prototype.handle = originalHandle;
      active = undefined;
    },
  };
  active = vt;
  return vt;
}
