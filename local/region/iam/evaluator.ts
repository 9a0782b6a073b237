/**
 * IAM for the local region: who is calling (SigV4's access key id → the function whose role signs), and whether
 * that role's policies allow the call, evaluated by `@cloud-copilot/iam-simulate` for every resource the call
 * authorizes (local/region/iam/requests.ts). A denial answers as AWS does (EC2 `UnauthorizedOperation`, HTTP 403, with
 * an encoded authorization message; SSM and SQS `AccessDeniedException`).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
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

/** Evaluates calls of the stack's functions against their roles. */
export class IamEvaluator {
  private readonly byKey = new Map<string, FunctionRole>();
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

  private async check(role: FunctionRole, check: AuthorizationCheck): Promise<Denial | undefined> {
    // A resource being created has no id yet: AWS names it `…/*`; simulate it as one concrete new resource.
    const resource = check.resource.endsWith('/*') ? `${check.resource.slice(0, -1)}new` : check.resource;
    // The caller's account, also for a subnet or security group of a VPC shared through RAM: the share is what lets
    // the participant use the owner's resource, so there is no cross-account resource-policy step to evaluate.
    const account = this.facts.accountId;
    const result = await runSimulation(
      {
        request: {
          principal: role.sessionArn,
          action: check.action,
          resource: { resource, accountId: account },
          contextVariables: {
            'aws:PrincipalArn': role.roleArn,
            'aws:PrincipalAccount': this.facts.accountId,
            'aws:RequestedRegion': this.facts.region,
            ...check.context,
          },
        },
        identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      { simulationMode: 'Strict' },
    );
    if (result.resultType === 'error') {
      throw new IamModelError(
        `cannot evaluate ${check.action} on ${check.resource}: ${result.errors.message} ` +
          `${JSON.stringify(result.errors.identityPolicyErrors ?? {})}`,
      );
    }
    if (result.overallResult === 'Allowed') return undefined;
    return {
      principal: role.sessionArn,
      action: check.action,
      resource: check.resource,
      kind: result.overallResult === 'ExplicitlyDenied' ? 'explicit' : 'implicit',
      context: check.context,
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
