/**
 * The functions' IAM roles as a deploy creates them: read from the **packaged** CloudFormation template (the JSON
 * `npm run package` writes and `osls deploy` sends), with CloudFormation's intrinsic functions resolved the way
 * CloudFormation resolves them for this account and Region. Nothing here is written by hand per role: a statement
 * added to infra/iam.yml reaches the local region's evaluation through the template.
 */
import type { CfnTemplate } from '../../stack/package';

/** An IAM policy document (the JSON IAM stores). */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

/** One statement of a policy document, after CloudFormation resolved it. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A Lambda function of the stack with its execution role. */
export interface FunctionRole {
  /** Key of the function in serverless.yml (`reconcile`, `commandStatus`, …). */
  functionKey: string;
  /** Deployed function name (`eip-autopilot-dev-reconcile`). */
  functionName: string;
  /** Logical id of the role in the template (`ReconcileRole`). */
  roleLogicalId: string;
  /** The role's name as CloudFormation would generate it (stack name, logical id and a suffix). */
  roleName: string;
  roleArn: string;
  /** The role's session while the function runs: what AWS names as the caller in an authorization failure. */
  sessionArn: string;
  /** Inline policies of the role, resolved. */
  policies: { name: string; document: PolicyDocument }[];
}

/** Where the stack is deployed: what the pseudo parameters (`AWS::AccountId`, …) resolve to. */
export interface DeployTarget {
  accountId: string;
  region: string;
  /** Stack name (`osls` names it `<service>-<stage>`). */
  stackName: string;
}

/** Raised when the template uses an intrinsic function or attribute this resolver does not know. */
export class TemplateResolveError extends Error {
  override name = 'TemplateResolveError';
}

const PARTITION = 'aws';

/**
 * Resolves CloudFormation intrinsics in `value`: `Ref` (pseudo parameters and the resources the roles name),
 * `Fn::GetAtt …Arn`, `Fn::Sub` (both forms) and `Fn::Join`. Anything else throws, so that a policy is never
 * evaluated half-resolved.
 */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, target: DeployTarget): unknown {
  const resolve = (v: unknown): unknown => resolveIntrinsics(v, template, target);
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key === 'Ref') return ref(String(arg), template, target);
  if (entries.length === 1 && key === 'Fn::GetAtt') {
    const [logicalId, attribute] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
    return getAtt(logicalId, attribute, template, target);
  }
  if (entries.length === 1 && key === 'Fn::Sub') {
    const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in vars) return String(resolve(vars[name]));
      if (name.includes('.')) {
        const [logicalId, attribute] = name.split('.') as [string, string];
        return String(getAtt(logicalId, attribute, template, target));
      }
      return String(ref(name, template, target));
    });
  }
  if (entries.length === 1 && key === 'Fn::Join') {
    const [separator, parts] = arg as [string, unknown[]];
    return (resolve(parts) as unknown[]).map(String).join(separator);
  }
  if (key?.startsWith('Fn::') && entries.length === 1) throw new TemplateResolveError(`unsupported intrinsic ${key}`);
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
}

function resource(logicalId: string, template: CfnTemplate) {
  const r = template.Resources[logicalId];
  if (!r) throw new TemplateResolveError(`the template has no resource ${logicalId}`);
  return r;
}

/** `Ref`: pseudo parameters, or the physical id CloudFormation returns for the resource types the roles name. */
function ref(name: string, template: CfnTemplate, target: DeployTarget): string {
  switch (name) {
    case 'AWS::Partition':
      return PARTITION;
    case 'AWS::Region':
      return target.region;
    case 'AWS::AccountId':
      return target.accountId;
    case 'AWS::StackName':
      return target.stackName;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
  }
  const r = resource(name, template);
  const p = r.Properties ?? {};
  switch (r.Type) {
    case 'AWS::SSM::Document':
    case 'AWS::Logs::LogGroup':
    case 'AWS::SQS::Queue':
    case 'AWS::IAM::Role':
      return physicalName(name, template, target);
    default:
      if (typeof p.Name === 'string') return p.Name;
      throw new TemplateResolveError(`Ref to ${r.Type} (${name}) is not modelled`);
  }
}

/** The name a resource gets: its name property, else the name CloudFormation generates (`<stack>-<logicalId>-…`). */
function physicalName(logicalId: string, template: CfnTemplate, target: DeployTarget): string {
  const r = resource(logicalId, template);
  const p = r.Properties ?? {};
  const named = { 'AWS::SSM::Document': 'Name', 'AWS::Logs::LogGroup': 'LogGroupName', 'AWS::SQS::Queue': 'QueueName' }[
    r.Type
  ];
  const given = named ? p[named] : p.RoleName;
  if (given !== undefined) return String(resolveIntrinsics(given, template, target));
  // CloudFormation's generated names: stack name, logical id and a random suffix (13 characters for roles).
  return `${target.stackName}-${logicalId}-LOCAL0000000`.slice(0, 64);
}

/** `Fn::GetAtt <id>.Arn` for the resource types the roles name. */
function getAtt(logicalId: string, attribute: string, template: CfnTemplate, target: DeployTarget): string {
  const r = resource(logicalId, template);
  const { accountId: account, region } = target;
  if (attribute !== 'Arn') throw new TemplateResolveError(`Fn::GetAtt ${logicalId}.${attribute} is not modelled`);
  const name = physicalName(logicalId, template, target);
  switch (r.Type) {
    case 'AWS::SQS::Queue':
      return `arn:${PARTITION}:sqs:${region}:${account}:${name}`;
    case 'AWS::Logs::LogGroup':
      // A log group's Arn attribute ends in ":*" (it covers the group's streams).
      return `arn:${PARTITION}:logs:${region}:${account}:log-group:${name}:*`;
    case 'AWS::IAM::Role':
      return `arn:${PARTITION}:iam::${account}:role/${name}`;
    case 'AWS::SNS::Topic':
      return `arn:${PARTITION}:sns:${region}:${account}:${name}`;
    default:
      throw new TemplateResolveError(`Fn::GetAtt ${logicalId}.Arn of ${r.Type} is not modelled`);
  }
}

/**
 * Every Lambda function of the template with its role's resolved inline policies. A function whose role is not a
 * role of this template, or a role with managed policies (which the local region cannot read), is an error: the
 * evaluation would otherwise be incomplete.
 */
export function functionRoles(template: CfnTemplate, target: DeployTarget): FunctionRole[] {
  const out: FunctionRole[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const p = r.Properties ?? {};
    const role = p.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleLogicalId = role?.['Fn::GetAtt']?.[0];
    if (!roleLogicalId) throw new TemplateResolveError(`${logicalId}: Role is not a Fn::GetAtt of a role in the stack`);
    const roleProps = resource(roleLogicalId, template).Properties ?? {};
    if (roleProps.ManagedPolicyArns)
      throw new TemplateResolveError(`${roleLogicalId}: managed policies are not modelled by the local region`);
    const functionName = String(resolveIntrinsics(p.FunctionName, template, target));
    const roleName = physicalName(roleLogicalId, template, target);
    const policies = ((roleProps.Policies ?? []) as { PolicyName: unknown; PolicyDocument: unknown }[]).map((x) => ({
      name: String(resolveIntrinsics(x.PolicyName, template, target)),
      document: resolveIntrinsics(x.PolicyDocument, template, target) as PolicyDocument,
    }));
    out.push({
      functionKey: logicalId.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase()),
      functionName,
      roleLogicalId,
      roleName,
      roleArn: `arn:${PARTITION}:iam::${target.accountId}:role/${roleName}`,
      sessionArn: `arn:${PARTITION}:sts::${target.accountId}:assumed-role/${roleName}/${functionName}`,
      policies,
    });
  }
  return out;
}
