/**
 * Error classes and AWS error-code classification.
 *
 * AWS SDK v3 exceptions (and the local region model's `RegionError`) carry the AWS error code in `name`, so every
 * helper here reads `err.name` and works on both.
 */

/** Base class: keeps `name` and the original `cause`. */
export class EipAutopilotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Missing or malformed environment configuration; thrown at cold start. */
export class ConfigError extends EipAutopilotError {}

/** A job message or event that cannot be used. Retrying it would not help. */
export class InvalidInputError extends EipAutopilotError {}

/**
 * The work is not done and should be retried later (the SQS job fails and is redelivered after the visibility
 * timeout, up to the queue's maxReceiveCount).
 */
export class RetryLaterError extends EipAutopilotError {
  constructor(
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Codes the SDK's adaptive retry already retries; if they still surface, the job is retried later. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

const NOT_FOUND = new Set([
  'InvalidInstanceID.NotFound',
  'InvalidAllocationID.NotFound',
  'InvalidAssociationID.NotFound',
  'InvalidNetworkInterfaceID.NotFound',
  'InvalidAttachmentID.NotFound',
  'InvalidAddress.NotFound',
]);

/**
 * Transient conditions: eventual consistency right after launch, a pending instance, a resource still in use while
 * AWS finishes an earlier change, service-side failures.
 */
const RETRY_LATER = new Set([
  ...THROTTLING,
  'InvalidInstanceID.NotFound',
  'InvalidNetworkInterfaceID.NotFound',
  'IncorrectInstanceState',
  'IncorrectState',
  'InvalidNetworkInterface.InUse',
  'InvalidIPAddress.InUse',
  'Resource.AlreadyAssociated',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
]);

/** The AWS error code of `err`, or `undefined` when it is not an error object. */
export function errorCode(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/** True when AWS throttled the call. */
export function isThrottling(err: unknown): boolean {
  return THROTTLING.has(errorCode(err) ?? '');
}

/** True when the named resource does not exist (or is not visible yet). */
export function isNotFound(err: unknown): boolean {
  return NOT_FOUND.has(errorCode(err) ?? '');
}

/** True when retrying later can succeed; everything else is "give up and report". */
export function isRetryLater(err: unknown): boolean {
  return err instanceof RetryLaterError || RETRY_LATER.has(errorCode(err) ?? '');
}

/** `InvalidInstanceId` from SendCommand: the SSM agent is not registered (or not online) yet. */
export function isAgentNotRegistered(err: unknown): boolean {
  return errorCode(err) === 'InvalidInstanceId';
}

/** `IdempotentParameterMismatch`: the ClientToken was already used for a request with other parameters. */
export function isIdempotentMismatch(err: unknown): boolean {
  return errorCode(err) === 'IdempotentParameterMismatch';
}

/** `AddressLimitExceeded` from AllocateAddress: the Region's EIP quota is reached. */
export function isAddressLimit(err: unknown): boolean {
  return errorCode(err) === 'AddressLimitExceeded';
}
