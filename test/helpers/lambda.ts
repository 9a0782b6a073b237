import { readFileSync } from 'node:fs';
import { lambdaContext } from '#local/deployment/context';
import type { RegionOptions } from '#local/region/model/index';
import { FifoQueue, LocalSqs } from '#local/sqs-fifo';
import { makeWorld, type World } from '#local/world';

export const QUEUE_URL = 'http://sqs.localhost/123456789012/eip-autopilot-jobs.fifo';
export const FIXTURE_INSTANCE = 'i-0abcd1234ef567890';

/** Env of the deployed functions; set before a handler module is imported (config is read at cold start). */
export function lambdaEnv(): void {
  process.env.JOB_QUEUE_URL = QUEUE_URL;
  process.env.AWS_REGION = 'us-east-1';
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

/** A region + job queue behind the SDK mocks, for handler tests. */
export async function lambdaWorld(opts: RegionOptions = {}): Promise<{ world: World; queue: FifoQueue }> {
  const queues = new LocalSqs();
  const queue = queues.add(new FifoQueue({ name: 'eip-autopilot-jobs.fifo', url: QUEUE_URL, maxReceiveCount: 5 }));
  const world = await makeWorld(opts, queues);
  return { world, queue };
}

/** A fixture event from test/fixtures/events, with the fixture instance id replaced. */
export function fixture<T = Record<string, unknown>>(name: string, instanceId = FIXTURE_INSTANCE): T {
  const text = readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8');
  return JSON.parse(text.replaceAll(FIXTURE_INSTANCE, instanceId)) as T;
}

export const context = lambdaContext('test');
