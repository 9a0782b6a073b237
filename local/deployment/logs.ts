/**
 * Powertools writes one JSON line per log record to stdout. While a deployment runs, those lines become `log`
 * traces (like reading CloudWatch Logs) instead of mixing into the demo's output; other output passes through.
 * Returns the function that restores stdout and stderr.
 */
export function captureLogs(onRecord: (r: Record<string, unknown>) => void): () => void {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  const patched = streams.map((stream, i) => {
    const original = originals[i] as (...a: unknown[]) => boolean;
    const write = (chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      let record: Record<string, unknown> | undefined;
      // Powertools Metrics warns (stderr) after every invocation that published no metric: ours, with metrics off.
      if (text.startsWith('No application metrics to publish.'))
        record = { level: 'DEBUG', message: 'no application metrics to publish' };
      else if (text.startsWith('{"level":')) {
        try {
          const parsed = JSON.parse(text) as Record<string, unknown>;
          if (typeof parsed.message === 'string') record = parsed;
        } catch {
          // not one of ours: pass it through
        }
      }
      if (!record) return original.call(stream, chunk, ...rest);
      onRecord(record);
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    };
    stream.write = write as typeof stream.write;
    return write;
  });
  return () => {
    streams.forEach((stream, i) => {
      if (stream.write === (patched[i] as unknown)) stream.write = originals[i] as typeof stream.write;
    });
  };
}

/** Powertools keys that say nothing about what happened. */
const LOG_NOISE = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
]);

/** A captured record's own keys (what happened), without Powertools' invocation metadata. */
export function logData(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !LOG_NOISE.has(k)));
}
