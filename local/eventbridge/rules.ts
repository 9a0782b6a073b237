/**
 * The EventBridge rules of the packaged stack, in a shape the local event bus can route by: each rule's pattern
 * (or schedule) and the handlers (`functions/<name>/handler.handler`) its targets invoke. Reading them from the
 * template that `npm run package` produced means the local region routes exactly as the deployed stack would.
 */
import type { CfnResource, CfnTemplate } from '../stack/package';
import { validatePattern } from './pattern';

/** One target of a rule, resolved to the Lambda function it invokes. */
export interface RuleTarget {
  id: string;
  /** Logical id of the AWS::Lambda::Function in the template. */
  functionLogicalId: string;
  /** The function's handler as declared in serverless.yml, e.g. `functions/intake/handler.handler`. */
  handler: string;
  /** Logical id of the SQS queue of the target's DeadLetterConfig, if it has one. */
  deadLetterQueue?: string | undefined;
}

/** An EventBridge rule of the stack. */
export interface EventRule {
  logicalId: string;
  /** Event pattern (validated), absent for a schedule rule. */
  pattern?: Record<string, unknown>;
  /** `rate(...)` / `cron(...)` for a schedule rule. */
  schedule?: string;
  targets: RuleTarget[];
}

function functionOfTarget(
  arn: unknown,
  resources: Record<string, CfnResource>,
  rule: string,
): RuleTarget['functionLogicalId'] {
  const getAtt = (arn as { 'Fn::GetAtt'?: unknown })?.['Fn::GetAtt'];
  const ref = Array.isArray(getAtt) ? getAtt : typeof getAtt === 'string' ? getAtt.split('.') : undefined;
  const logicalId = ref?.[0];
  if (typeof logicalId !== 'string' || ref?.[1] !== 'Arn' || resources[logicalId]?.Type !== 'AWS::Lambda::Function') {
    throw new Error(`rule ${rule}: target ${JSON.stringify(arn)} is not a Fn::GetAtt of a Lambda function's Arn`);
  }
  return logicalId;
}

/**
 * Every AWS::Events::Rule of `template` with its pattern (parsed from a JSON string if given as one) and its
 * Lambda targets. Throws on a malformed pattern or a target that is not a function of the same template.
 */
export function eventRulesFromTemplate(template: CfnTemplate): EventRule[] {
  const rules: EventRule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const props = resource.Properties ?? {};
    const rawPattern = props.EventPattern;
    const pattern = (typeof rawPattern === 'string' ? JSON.parse(rawPattern) : rawPattern) as
      | Record<string, unknown>
      | undefined;
    if (pattern !== undefined) validatePattern(pattern);
    const targets = (
      (props.Targets ?? []) as { Id: string; Arn: unknown; DeadLetterConfig?: { Arn?: { 'Fn::GetAtt'?: unknown } } }[]
    ).map((target) => {
      const functionLogicalId = functionOfTarget(target.Arn, template.Resources, logicalId);
      const handler = template.Resources[functionLogicalId]?.Properties?.Handler;
      if (typeof handler !== 'string') throw new Error(`function ${functionLogicalId} has no Handler`);
      const dlq = target.DeadLetterConfig?.Arn?.['Fn::GetAtt'];
      const deadLetterQueue = Array.isArray(dlq) && typeof dlq[0] === 'string' ? dlq[0] : undefined;
      return { id: target.Id, functionLogicalId, handler, ...(deadLetterQueue ? { deadLetterQueue } : {}) };
    });
    const schedule = typeof props.ScheduleExpression === 'string' ? props.ScheduleExpression : undefined;
    rules.push({ logicalId, ...(pattern ? { pattern } : {}), ...(schedule ? { schedule } : {}), targets });
  }
  return rules;
}
