/**
 * Reads what the local deployment needs from the stack's source (serverless.yml and the infra/*.yml files it pulls
 * in), without packaging: the EventBridge rules and their target handlers, the job queue's visibility timeout and
 * redrive, and the reconcile event source's batch size. `npm run package` takes ~15 s; `npm run demo` must start in
 * well under one. test/local/stack/source.test.ts checks that the rules read here equal the packaged template's.
 *
 * Only what those settings use is resolved (other short forms, e.g. `!Not` in a condition, stay unresolved):
 * `${param:<name>}` (defaults of serverless.yml, or the overrides given),
 * `${self:service}` and `${sls:stage}`. CloudFormation short forms (`!Ref`, `!GetAtt`, `!Sub`) become their long form.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type ScalarTag } from 'yaml';
import { type EventRule, eventRulesFromTemplate } from '../eventbridge/rules';
import { type CfnResource, STACK_ROOT } from './package';

/** The deployment settings read from the source. */
export interface StackSource {
  /** EventBridge rules with their targets resolved to handlers (`functions/<name>/handler.handler`). */
  rules: EventRule[];
  /** The job queue (infra/queue.yml). */
  jobQueue: { name: string; visibilityTimeoutMs: number; maxReceiveCount: number; deadLetterQueueName: string };
  /** Batch size of the reconcile function's SQS event source. */
  reconcileBatchSize: number;
  /** The reconcile event source's MaximumConcurrency (how many containers poll the queue at most). */
  reconcileMaxConcurrency: number;
  /** Function key → timeout in ms (serverless.yml `timeout`, else the provider's). */
  timeoutsMs: Record<string, number>;
  /** Function key (serverless.yml) → handler. */
  handlers: Record<string, string>;
  /** The stack parameters in effect (serverless.yml defaults, then the overrides). */
  params: Record<string, string>;
}

const TAGS: ScalarTag[] = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) as never },
  { tag: '!GetAtt', resolve: (value: string) => ({ 'Fn::GetAtt': value.split('.') }) as never },
  { tag: '!Sub', resolve: (value: string) => ({ 'Fn::Sub': value }) as never },
];

interface ServerlessYml {
  service: string;
  params?: { default?: Record<string, string> };
  provider?: { timeout?: number };
  functions: Record<
    string,
    { handler: string; timeout?: number; events?: { sqs?: { batchSize?: number; maximumConcurrency?: unknown } }[] }
  >;
  resources?: unknown[];
}

/** Replaces the Framework variables a rule or the queue uses; any other `${...}` is an error (we would misroute). */
function resolveVariables(text: string, vars: Record<string, string>, file: string): string {
  const resolved = text.replace(/\$\{(param:[A-Za-z0-9]+|self:service|sls:stage)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${file}: no value for ${whole}`);
    return value;
  });
  // Framework sources are lowercase (`${opt:…}`); CloudFormation's own `${AWS::Region}` / `${Logical}` stay for
  // Fn::Sub.
  const left = /\$\{(?:param|self|sls|opt|env|ssm|cf|s3|file|aws|strToBool)[:(][^}]*\}/.exec(resolved);
  if (left) throw new Error(`${file}: the local deployment cannot resolve ${left[0]}`);
  return resolved;
}

/** The Lambda logical id the Framework gives a function key (`commandStatus` → `CommandStatusLambdaFunction`). */
export function functionLogicalId(key: string): string {
  const normalized = key.replaceAll('-', 'Dash').replaceAll('_', 'Underscore');
  return `${normalized.charAt(0).toUpperCase()}${normalized.slice(1)}LambdaFunction`;
}

/**
 * Reads the stack's source. `params` overrides serverless.yml's `params.default` like `--param name=value` does;
 * `stage` defaults to `dev` like `npm run package`.
 */
export function readStackSource(
  options: { root?: string; params?: Record<string, string>; stage?: string } = {},
): StackSource {
  const root = options.root ?? STACK_ROOT;
  const sls = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
    customTags: TAGS,
    logLevel: 'error',
  }) as ServerlessYml;
  const vars: Record<string, string> = { 'self:service': sls.service, 'sls:stage': options.stage ?? 'dev' };
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...sls.params?.default, ...options.params })) {
    params[name] = String(value);
    vars[`param:${name}`] = String(value);
  }

  const resources: Record<string, CfnResource> = {};
  for (const entry of sls.resources ?? []) {
    const file = typeof entry === 'string' ? /^\$\{file\(([^)]+)\)\}$/.exec(entry)?.[1] : undefined;
    if (!file)
      throw new Error(`serverless.yml: resources entry ${JSON.stringify(entry)} is not a \${file(...)} include`);
    const doc = parse(readFileSync(join(root, file), 'utf8'), { customTags: TAGS, logLevel: 'error' }) as {
      Resources?: Record<string, CfnResource>;
    };
    for (const [id, resource] of Object.entries(doc.Resources ?? {})) {
      // Only the resources read below need their variables resolved (the guest document goes through a JS resolver).
      resources[id] = /^AWS::(Events::Rule|SQS::Queue)$/.test(resource.Type)
        ? (JSON.parse(resolveVariables(JSON.stringify(resource), vars, file)) as CfnResource)
        : resource;
    }
  }
  const handlers: Record<string, string> = {};
  for (const [key, fn] of Object.entries(sls.functions)) {
    handlers[key] = fn.handler;
    resources[functionLogicalId(key)] = { Type: 'AWS::Lambda::Function', Properties: { Handler: fn.handler } };
  }

  const queue = resources.JobQueue?.Properties;
  const redrive = queue?.RedrivePolicy as
    | { deadLetterTargetArn?: { 'Fn::GetAtt'?: string[] }; maxReceiveCount?: number }
    | undefined;
  const dlqId = redrive?.deadLetterTargetArn?.['Fn::GetAtt']?.[0] ?? '';
  const dlqName = resources[dlqId]?.Properties?.QueueName;
  if (
    typeof queue?.QueueName !== 'string' ||
    typeof queue.VisibilityTimeout !== 'number' ||
    !redrive?.maxReceiveCount ||
    typeof dlqName !== 'string'
  ) {
    throw new Error(
      'infra: JobQueue needs QueueName, VisibilityTimeout and a RedrivePolicy to a named dead-letter queue',
    );
  }
  const sqsSource = sls.functions.reconcile?.events?.find((e) => e.sqs)?.sqs;
  const batchSize = sqsSource?.batchSize ?? 10;
  // Without MaximumConcurrency, Lambda scales SQS pollers up to 1,000 (and the account's limit): "unbounded" here.
  const maxConcurrency = Number(
    resolveVariables(String(sqsSource?.maximumConcurrency ?? 1000), vars, 'serverless.yml'),
  );
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2)
    throw new Error(`serverless.yml: reconcile maximumConcurrency must be an integer ≥ 2, got ${maxConcurrency}`);
  const timeoutsMs = Object.fromEntries(
    Object.entries(sls.functions).map(([key, fn]) => [key, (fn.timeout ?? sls.provider?.timeout ?? 6) * 1000]),
  );
  return {
    rules: eventRulesFromTemplate({ Resources: resources }),
    jobQueue: {
      name: queue.QueueName,
      visibilityTimeoutMs: queue.VisibilityTimeout * 1000,
      maxReceiveCount: redrive.maxReceiveCount,
      deadLetterQueueName: dlqName,
    },
    reconcileBatchSize: batchSize,
    reconcileMaxConcurrency: maxConcurrency,
    timeoutsMs,
    handlers,
    params,
  };
}
