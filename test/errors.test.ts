import { describe, expect, it } from 'vitest';
import {
  errorCode,
  isAddressLimit,
  isAgentNotRegistered,
  isNotFound,
  isRetryLater,
  isThrottling,
  RetryLaterError,
} from '#src/errors';

const aws = (name: string) => Object.assign(new Error(name), { name });

describe('error classification', () => {
  it.each([
    ['RequestLimitExceeded', { throttling: true, notFound: false, retry: true }],
    ['ThrottlingException', { throttling: true, notFound: false, retry: true }],
    ['InvalidInstanceID.NotFound', { throttling: false, notFound: true, retry: true }],
    ['InvalidAllocationID.NotFound', { throttling: false, notFound: true, retry: false }],
    ['Resource.AlreadyAssociated', { throttling: false, notFound: false, retry: true }],
    ['InvalidIPAddress.InUse', { throttling: false, notFound: false, retry: true }],
    ['AddressLimitExceeded', { throttling: false, notFound: false, retry: false }],
    ['UnauthorizedOperation', { throttling: false, notFound: false, retry: false }],
  ])('%s', (name, want) => {
    const e = aws(name);
    expect({ throttling: isThrottling(e), notFound: isNotFound(e), retry: isRetryLater(e) }).toEqual(want);
  });

  it('reads the code from name, for SDK and region errors alike', () => {
    expect(errorCode(aws('InvalidInstanceId'))).toBe('InvalidInstanceId');
    expect(isAgentNotRegistered(aws('InvalidInstanceId'))).toBe(true);
    expect(isAddressLimit(aws('AddressLimitExceeded'))).toBe(true);
    expect(errorCode('text')).toBeUndefined();
  });

  it('keeps name and cause on our classes', () => {
    const cause = aws('X');
    const e = new RetryLaterError('later', 'why', { cause });
    expect(e).toMatchObject({ name: 'RetryLaterError', reason: 'why', cause });
    expect(isRetryLater(e)).toBe(true);
  });
});
