import type { Context } from 'aws-lambda';

/** The Lambda context a handler gets, for function `name` of the dev stage (the demo, e2e and handler tests). */
export function lambdaContext(name: string): Context {
  return {
    functionName: `eip-autopilot-dev-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:eip-autopilot-dev-${name}`,
    memoryLimitInMB: '256',
    awsRequestId: 'local',
    logGroupName: `/aws/lambda/eip-autopilot-dev-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
