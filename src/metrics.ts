import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The one Metrics instance of the process (EMF, flushed by the handlers' middleware). */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'EipAutopilot',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'eip-autopilot',
});

/** Metric names we emit. */
export type MetricName = 'Allocations' | 'Releases' | 'Associations' | 'Errors' | 'JobsEnqueued';

/** Adds `value` to a count metric. */
export function count(name: MetricName, value = 1): void {
  if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
}
