/**
 * IAM in the local deployment, as Lambda and IAM do it in an account:
 * - each function runs with its own credentials: Lambda puts the role session's keys into the function's environment
 *   (`AWS_ACCESS_KEY_ID`, …), and the SDK's default credential chain reads them there. All functions share one
 *   process here, so each invocation runs in an async context that carries its function's environment, and
 *   `process.env` answers from it (the SDK reads the variables when a client first signs, inside an invocation);
 * - the region evaluates every call signed with a function's key against that function's role, read from the
 *   **packaged** template (local/stack/package.ts `packagedTemplate`), and refuses as AWS does;
 * - like `CreateEventSourceMapping`, the start fails when the consumer's role cannot poll its queue.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { accessKeyFor, IamEvaluator } from '../region/iam/evaluator';
import { enforceIam } from '../region/iam/enforce';
import { regionFacts } from '../region/iam/facts';
import { functionRoles } from '../region/iam/policies';
import type { Region } from '../region/model/index';
import { packagedTemplate } from '../stack/package';

/** The secret that goes with every function's key (the local region checks no signatures). */
const SECRET = 'local-function-secret';

/** What the deployment needs from IAM. */
export interface DeploymentIam {
  readonly evaluator: IamEvaluator;
  /** The server's SQS authorizer (`startRegionServer({ authorizeSqs })`). */
  readonly authorizeSqs: ReturnType<typeof enforceIam>;
  /** Runs `invoke` as an invocation of function `functionKey` (serverless.yml key): with its credentials. */
  asFunction<T>(functionKey: string, invoke: () => T): T;
  /** Refuses (throws) unless the function's role may poll `queueArn` as Lambda's SQS event source does. */
  checkEventSource(functionKey: string, queueUrl: string): Promise<void>;
  /** Restores `process.env` and the region's authorizer. */
  close(): void;
}

/** Per-invocation environment on top of the process's (what Lambda gives each function). */
const invocationEnv = new AsyncLocalStorage<Record<string, string>>();

/**
 * Makes `process.env` answer from the current invocation's environment first. Returns the function that puts the
 * plain object back.
 */
function installInvocationEnv(): () => void {
  const plain = process.env;
  const own = (key: string | symbol) => (typeof key === 'string' ? invocationEnv.getStore()?.[key] : undefined);
  process.env = new Proxy(plain, {
    get: (target, key) => own(key) ?? Reflect.get(target, key),
    // Writes go to the process's environment as plain assignments (process.env accepts no other descriptor).
    set: (target, key, value) => {
      (target as Record<string | symbol, unknown>)[key] = value;
      return true;
    },
    has: (target, key) => own(key) !== undefined || Reflect.has(target, key),
    getOwnPropertyDescriptor: (target, key) => {
      const value = own(key);
      return value !== undefined
        ? { value, writable: true, enumerable: true, configurable: true }
        : Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
  return () => {
    process.env = plain;
  };
}

/** Starts IAM for `region`, with the roles of the stack packaged with `params`. */
export function startIam(region: Region, params: Record<string, string>, stage = 'dev'): DeploymentIam {
  const template = packagedTemplate(params);
  const roles = functionRoles(template, {
    accountId: region.accountId,
    region: region.regionName,
    stackName: `eip-autopilot-${stage}`,
  });
  const evaluator = new IamEvaluator(roles, regionFacts(region));
  const authorizeSqs = enforceIam(region, evaluator);
  const restoreEnv = installInvocationEnv();
  const envs = new Map(
    roles.map((r) => [
      r.functionKey,
      {
        AWS_ACCESS_KEY_ID: accessKeyFor(r.functionKey),
        AWS_SECRET_ACCESS_KEY: SECRET,
        AWS_LAMBDA_FUNCTION_NAME: r.functionName,
      },
    ]),
  );
  return {
    evaluator,
    authorizeSqs,
    asFunction(functionKey, invoke) {
      const env = envs.get(functionKey);
      if (!env) throw new Error(`the packaged template has no function ${functionKey}`);
      return invocationEnv.run(env, invoke);
    },
    async checkEventSource(functionKey, queueUrl) {
      // AWS::Lambda::EventSourceMapping with SQS: the execution role needs these three on the queue.
      for (const action of ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes']) {
        const denial = await evaluator.evaluate(accessKeyFor(functionKey), 'sqs', action, { QueueUrl: queueUrl });
        if (denial) {
          throw new Error(
            `The provided execution role does not have permissions to call ${action} on SQS ` +
              `(${denial.principal}, ${denial.resource})`,
          );
        }
      }
    },
    close() {
      restoreEnv();
      region.setAuthorizer(undefined);
    },
  };
}
