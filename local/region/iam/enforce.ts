/**
 * Turns IAM on for a region: EC2 and SSM calls that arrive over the wire are evaluated by the region's authorizer,
 * SQS calls by the server's (`startRegionServer({ authorizeSqs })`). Both refuse exactly as AWS does.
 */
import type { Authorizer, Region } from '../model/index';
import { accessDenied, type IamEvaluator } from './evaluator';

/** Installs `evaluator` as the region's authorizer; returns the server's SQS authorizer. */
export function enforceIam(
  region: Region,
  evaluator: IamEvaluator,
): (call: { caller: string | undefined; action: string; input: Record<string, unknown> }) => Promise<void> {
  const authorizer: Authorizer = async ({ caller, service, action, input }) => {
    const denial = await evaluator.evaluate(caller, service, action, input);
    if (denial) throw accessDenied(service, denial);
  };
  region.setAuthorizer(authorizer);
  return async ({ caller, action, input }) => {
    const denial = await evaluator.evaluate(caller, 'sqs', action, input);
    if (denial) throw accessDenied('sqs', denial);
  };
}
