/**
 * What serverless.yml wires in AWS, wired in-process: the functions' environment, the handler modules, the
 * EventBridge rules' targets and the guest document.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import type { LocalBus } from '../bus';
import type { Region, RegionEvent } from '../region/model/index';
import { STACK_ROOT } from '../stack/package';
import type { StackSource } from '../stack/source';
import { lambdaContext } from './context';
import { summarize, type Trace } from './trace';

/** A deployed function's entry point. */
export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The handler modules the stack may name. Static imports (not a computed path) so that tsx and vitest resolve them
 * the same way; a handler the stack names but this table lacks is an error at start.
 */
const HANDLER_MODULES: Record<string, () => Promise<{ handler: unknown }>> = {
  'functions/intake/handler.handler': () => import('#functions/intake/handler'),
  'functions/reconcile/handler.handler': () => import('#functions/reconcile/handler'),
  'functions/sweep/handler.handler': () => import('#functions/sweep/handler'),
  'functions/command-status/handler.handler': () => import('#functions/command-status/handler'),
};

/** The functions' environment, as serverless.yml's provider.environment sets it. */
export function functionEnv(
  source: StackSource,
  at: { endpoint: string; regionName: string; jobQueueUrl: string; logLevel: string },
): Record<string, string> {
  const p = source.params;
  return {
    AWS_ENDPOINT_URL: at.endpoint,
    AWS_REGION: at.regionName,
    AWS_ACCESS_KEY_ID: 'AKIDLOCALREGION',
    AWS_SECRET_ACCESS_KEY: 'local-region-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    JOB_QUEUE_URL: at.jobQueueUrl,
    COUNT_TAG_KEY: p.countTagKey ?? 'eip-count',
    POOL_TAG_KEY: p.poolTagKey ?? 'eip-pool',
    ON_STOP_TAG_KEY: p.onStopTagKey ?? 'eip-on-stop',
    GUEST_DOCUMENT_NAME: p.guestDocumentName ?? 'eip-autopilot-guest-sync',
    DRY_RUN: p.dryRun ?? 'false',
    API_RATE_SHARE: p.apiRateShare ?? '0.6',
    RECONCILE_CONCURRENCY: String(source.reconcileMaxConcurrency),
    POWERTOOLS_SERVICE_NAME: 'eip-autopilot',
    POWERTOOLS_LOG_LEVEL: at.logLevel,
    POWERTOOLS_METRICS_NAMESPACE: 'EipAutopilot',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

/** Sets `env` into process.env; returns the function that restores what was there. */
export function applyEnv(env: Record<string, string>): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  return () => {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  };
}

/** Imports every handler the stack names (after the environment is set: config is read at cold start). */
export async function loadHandlers(source: StackSource): Promise<(path: string) => Handler> {
  const handlers = new Map<string, Handler>();
  for (const path of new Set(Object.values(source.handlers))) {
    const load = HANDLER_MODULES[path];
    if (!load) throw new Error(`serverless.yml names handler ${path}, which the local deployment does not know`);
    handlers.set(path, (await load()).handler as Handler);
  }
  return (path: string): Handler => {
    const h = handlers.get(path);
    if (!h) throw new Error(`no handler ${path}`);
    return h;
  };
}

/** Registers the real guest document (ssm-documents/guest-sync.yaml) under the stack's name for it. */
export async function registerGuestDocument(region: Region, name: string): Promise<void> {
  await region.ssm('CreateDocument', {
    Name: name,
    DocumentType: 'Command',
    DocumentFormat: 'YAML',
    Content: readFileSync(join(STACK_ROOT, 'ssm-documents', 'guest-sync.yaml'), 'utf8'),
  });
}

/** Adds the stack's rules to the bus, each target invoking its handler (and tracing the event it got). */
export function wireRules(
  bus: LocalBus,
  source: StackSource,
  handler: (path: string) => Handler,
  trace: (t: Trace) => void,
): void {
  const nameOf = (path: string) => path.split('/')[1] ?? path;
  for (const rule of source.rules) {
    bus.addRule({
      name: rule.logicalId,
      pattern: rule.pattern,
      schedule: rule.schedule,
      targets: rule.targets.map((t) => ({
        id: nameOf(t.handler),
        invoke: (event: RegionEvent) => {
          trace({
            kind: 'event',
            detailType: event['detail-type'],
            summary: summarize(event),
            rule: rule.logicalId,
            target: nameOf(t.handler),
          });
          return handler(t.handler)(event, lambdaContext(nameOf(t.handler)));
        },
      })),
    });
  }
}
