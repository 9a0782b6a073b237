import { ConfigError } from './errors';

/** Runtime configuration, read once at cold start (see docs/ARCHITECTURE.md). */
export interface Config {
  /** Tag holding the wanted number of EIPs. */
  countTagKey: string;
  /** Tag naming a pool of pre-allocated EIPs. */
  poolTagKey: string;
  /** Tag saying what happens on stop: keep | release. */
  onStopTagKey: string;
  /** SQS FIFO job queue; `undefined` only where the caller said it is optional (the CLI). */
  jobQueueUrl: string | undefined;
  /** SSM document run on the guest after cloud changes. */
  guestDocumentName: string;
  /** Plan and log, write nothing. */
  dryRun: boolean;
  /**
   * Share of each EC2 API bucket (per action, per account and Region) reconcile may use, 0 < share ≤ 1; 0 turns the
   * client-side limiter off. Default 0.6: the rest stays free for the account's other tools.
   */
  apiRateShare: number;
  /** The reconcile event source's MaximumConcurrency: each container takes apiRateShare ÷ this of every bucket. */
  reconcileConcurrency: number;
}

// Tag keys: 1-128 chars; the `aws:` prefix is reserved by AWS and `eip-autopilot:` by us (IAM conditions use it).
function tagKey(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = (env[name] ?? fallback).trim();
  if (value === '' || value.length > 128) throw new ConfigError(`${name} must be 1-128 characters, got "${value}"`);
  if (/^(aws:|eip-autopilot:)/i.test(value)) {
    throw new ConfigError(`${name} must not start with "aws:" or "eip-autopilot:", got "${value}"`);
  }
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? 'false').trim().toLowerCase();
  if (raw === 'true') return true;
  if (raw === 'false' || raw === '') return false;
  throw new ConfigError(`${name} must be "true" or "false", got "${env[name]}"`);
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new ConfigError(`${name} must be a number within [${min}, ${max}], got "${raw}"`);
  return value;
}

/** The user-facing tag keys when COUNT_TAG_KEY, POOL_TAG_KEY and ON_STOP_TAG_KEY are not set. */
export const DEFAULT_TAG_KEYS = {
  countTagKey: 'eip-count',
  poolTagKey: 'eip-pool',
  onStopTagKey: 'eip-on-stop',
} as const;

/**
 * Reads and validates the environment. Throws {@link ConfigError} naming the variable when something is wrong, so
 * a misconfigured function fails at cold start instead of mid-reconcile.
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: { requireQueue?: boolean } = {}): Config {
  const requireQueue = options.requireQueue ?? true;
  const queue = env.JOB_QUEUE_URL?.trim() || undefined;
  if (requireQueue && queue === undefined) throw new ConfigError('JOB_QUEUE_URL is required');
  if (queue !== undefined && !/^https?:\/\/\S+\.fifo$/.test(queue)) {
    throw new ConfigError(`JOB_QUEUE_URL must be the URL of a FIFO queue (ending in .fifo), got "${queue}"`);
  }
  const config: Config = {
    countTagKey: tagKey(env, 'COUNT_TAG_KEY', DEFAULT_TAG_KEYS.countTagKey),
    poolTagKey: tagKey(env, 'POOL_TAG_KEY', DEFAULT_TAG_KEYS.poolTagKey),
    onStopTagKey: tagKey(env, 'ON_STOP_TAG_KEY', DEFAULT_TAG_KEYS.onStopTagKey),
    jobQueueUrl: queue,
    guestDocumentName: (env.GUEST_DOCUMENT_NAME ?? 'eip-autopilot-guest-sync').trim(),
    dryRun: bool(env, 'DRY_RUN'),
    apiRateShare: number(env, 'API_RATE_SHARE', 0.6, 0, 1),
    reconcileConcurrency: number(env, 'RECONCILE_CONCURRENCY', 5, 1, 1000),
  };
  if (!Number.isInteger(config.reconcileConcurrency))
    throw new ConfigError(`RECONCILE_CONCURRENCY must be an integer, got "${env.RECONCILE_CONCURRENCY}"`);
  if (!/^[a-zA-Z0-9_.-]{3,128}$/.test(config.guestDocumentName)) {
    throw new ConfigError(`GUEST_DOCUMENT_NAME is not a valid SSM document name: "${config.guestDocumentName}"`);
  }
  const keys = [config.countTagKey, config.poolTagKey, config.onStopTagKey];
  if (new Set(keys).size !== keys.length) throw new ConfigError(`tag keys must differ, got ${keys.join(', ')}`);
  return config;
}
