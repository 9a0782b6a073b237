import { describe, expect, it } from 'vitest';
import { desiredFromTags } from '#src/reconcile/desired';

const keys = { countTagKey: 'eip-count', poolTagKey: 'eip-pool', onStopTagKey: 'eip-on-stop' };

describe('Function: desiredFromTags', () => {
  it.each([
    ['3', 3],
    [' 3 ', 3],
    ['0', 0],
    ['007', 7],
  ])('accepts the whole number %j', (value, count) => {
    expect(desiredFromTags({ 'eip-count': value }, keys)).toEqual({
      valid: true,
      count,
      pool: undefined,
      onStop: 'keep',
    });
  });

  it.each(['abc', '-1', '1.5', '1e3', '0x3', '', ' ', '+3', '3 4'])('rejects %j as not a whole number', (value) => {
    expect(desiredFromTags({ 'eip-count': value }, keys)).toEqual({
      valid: false,
      error: `eip-count "${value}" is not a whole number`,
    });
  });

  it('rejects an absurdly large count', () => {
    expect(desiredFromTags({ 'eip-count': '99999999999999999999' }, keys)).toMatchObject({
      valid: false,
      error: expect.stringMatching(/larger than 2000/),
    });
  });

  it('treats a missing count tag as 0', () => {
    expect(desiredFromTags({ Name: 'web' }, keys)).toMatchObject({ valid: true, count: 0 });
  });

  it('reads the pool and on-stop tags', () => {
    expect(desiredFromTags({ 'eip-count': '2', 'eip-pool': ' partners ', 'eip-on-stop': 'Release' }, keys)).toEqual({
      valid: true,
      count: 2,
      pool: 'partners',
      onStop: 'release',
    });
  });

  it.each([
    [{ 'eip-pool': '  ' }, 'eip-pool is empty'],
    [{ 'eip-on-stop': 'maybe' }, 'eip-on-stop "maybe" must be keep or release'],
  ])('rejects %j', (tags, error) => {
    expect(desiredFromTags({ 'eip-count': '1', ...tags }, keys)).toEqual({ valid: false, error });
  });

  it('uses the configured tag keys', () => {
    const custom = { countTagKey: 'n-ips', poolTagKey: 'p', onStopTagKey: 's' };
    expect(desiredFromTags({ 'n-ips': '2', 'eip-count': 'x' }, custom)).toMatchObject({ valid: true, count: 2 });
  });
});
