import { describe, expect, it } from 'vitest';
import { InvalidPatternError, matchesPattern, validatePattern } from '#local/eventbridge/pattern';

// Cases follow the examples of the EventBridge user guide ("Content filtering in Amazon EventBridge event patterns",
// "Comparison operators for use in event patterns", "Matching events on null values and empty strings").
const ec2Event = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2017-10-02T18:43:48Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'running',
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.123',
    'source-ip6': '2001:db8::1',
    FileName: 'image.PNG',
    FilePath: '/usr/lib/libc.so',
    eventVersion: '',
    responseElements: null,
    location: { city: 'Seattle', zip: 98101 },
    tags: [
      { key: 'team', value: 'blue' },
      { key: 'env', value: 'prod' },
    ],
    flags: [true, false],
  },
};

const matching: [string, unknown][] = [
  ['exact value', { source: ['aws.ec2'] }],
  ['one of several values', { detail: { state: ['pending', 'running'] } }],
  ['AND of fields', { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] }],
  ['event array: any element', { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0'] }],
  ['number exact', { detail: { 'c-count': [5] } }],
  ['boolean inside an event array', { detail: { flags: [false] } }],
  ['empty string', { detail: { eventVersion: [''] } }],
  ['null value', { detail: { responseElements: [null] } }],
  ['prefix', { time: [{ prefix: '2017-10-02' }] }],
  ['prefix ignore case', { source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] }],
  ['suffix', { detail: { FileName: [{ suffix: '.PNG' }] } }],
  ['suffix ignore case', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }],
  ['equals-ignore-case', { detail: { state: [{ 'equals-ignore-case': 'RUNNING' }] } }],
  ['anything-but string', { detail: { state: [{ 'anything-but': 'initializing' }] } }],
  ['anything-but number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }],
  ['anything-but list', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }],
  ['anything-but prefix', { region: [{ 'anything-but': { prefix: 'eu-' } }] }],
  ['anything-but suffix', { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } }],
  ['anything-but ignore case', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'STOPPED' } }] } }],
  ['anything-but wildcard', { detail: { FilePath: [{ 'anything-but': { wildcard: '*/bin/*' } }] } }],
  ['numeric range', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }],
  ['numeric equals', { detail: { 'd-count': [{ numeric: ['=', 3] }] } }],
  ['numeric lower bound on a float', { detail: { 'x-limit': [{ numeric: ['>=', 300] }] } }],
  ['exists true', { detail: { state: [{ exists: true }] } }],
  ['exists true on a null leaf', { detail: { responseElements: [{ exists: true }] } }],
  ['exists false', { detail: { 'no-such-field': [{ exists: false }] } }],
  ['wildcard', { detail: { FilePath: [{ wildcard: '/usr/*/*.so' }] } }],
  ['cidr IPv4', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }],
  ['cidr IPv6', { detail: { 'source-ip6': [{ cidr: '2001:db8::/32' }] } }],
  ['nested object', { detail: { location: { city: ['Seattle'] } } }],
  ['array of objects: one element matches', { detail: { tags: { key: ['env'], value: ['prod'] } } }],
  ['$or at top level', { $or: [{ source: ['aws.s3'] }, { detail: { state: ['running'] } }] }],
  ['$or nested', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 100] }] }, { 'd-count': [3] }] } }],
  ['mixed matchers in one list (OR)', { detail: { state: [{ prefix: 'stop' }, 'running'] } }],
];

const rejecting: [string, unknown][] = [
  ['other value', { source: ['aws.s3'] }],
  ['case matters without equals-ignore-case', { detail: { state: ['RUNNING'] } }],
  ['missing field', { detail: { 'no-such-field': ['x'] } }],
  ['number is not a string', { detail: { 'c-count': ['5'] } }],
  ['empty string is not null', { detail: { responseElements: [''] } }],
  ['null is not an empty string', { detail: { eventVersion: [null] } }],
  ['prefix', { time: [{ prefix: '2018' }] }],
  ['prefix is case-sensitive', { source: [{ prefix: 'AWS.' }] }],
  ['suffix', { detail: { FileName: [{ suffix: '.png' }] } }],
  ['anything-but excludes the value', { detail: { state: [{ 'anything-but': 'running' }] } }],
  ['anything-but list excludes', { detail: { state: [{ 'anything-but': ['running', 'stopped'] }] } }],
  ['anything-but prefix excludes', { region: [{ 'anything-but': { prefix: 'us-' } }] }],
  [
    'anything-but ignore case excludes',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'RUNNING' } }] } },
  ],
  ['anything-but wildcard excludes', { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }],
  ['anything-but needs the field', { detail: { 'no-such-field': [{ 'anything-but': 'x' }] } }],
  ['numeric out of range', { detail: { 'c-count': [{ numeric: ['>', 5, '<', 10] }] } }],
  ['numeric on a string', { detail: { state: [{ numeric: ['>', 0] }] } }],
  ['exists false on a present field', { detail: { state: [{ exists: false }] } }],
  ['exists true on a missing field', { detail: { 'no-such-field': [{ exists: true }] } }],
  ['exists true on an object (not a leaf)', { detail: { location: [{ exists: true }] } }],
  ['wildcard', { detail: { FilePath: [{ wildcard: '/opt/*' }] } }],
  ['wildcard is anchored', { detail: { FilePath: [{ wildcard: 'lib/*' }] } }],
  ['cidr outside', { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } }],
  ['cidr family mismatch', { detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } }],
  ['nested object mismatch', { detail: { location: { city: ['Portland'] } } }],
  ['array of objects: no single element has both', { detail: { tags: { key: ['team'], value: ['prod'] } } }],
  ['$or: no alternative', { $or: [{ source: ['aws.s3'] }, { detail: { state: ['stopped'] } }] }],
  ['AND: one key fails', { source: ['aws.ec2'], 'detail-type': ['Other'] }],
];

describe('Function: matchesPattern', () => {
  it.each(matching)('matches: %s', (_name, pattern) => {
    expect(matchesPattern(pattern, ec2Event)).toBe(true);
  });

  it.each(rejecting)('rejects: %s', (_name, pattern) => {
    expect(matchesPattern(pattern, ec2Event)).toBe(false);
  });

  it('treats an escaped star in a wildcard as a literal star', () => {
    expect(matchesPattern({ k: [{ wildcard: 'a\\*b' }] }, { k: 'a*b' })).toBe(true);
    expect(matchesPattern({ k: [{ wildcard: 'a\\*b' }] }, { k: 'axxb' })).toBe(false);
  });

  it('escapes regular-expression characters in a wildcard', () => {
    expect(matchesPattern({ k: [{ wildcard: 'a.b*' }] }, { k: 'a.bc' })).toBe(true);
    expect(matchesPattern({ k: [{ wildcard: 'a.b*' }] }, { k: 'axbc' })).toBe(false);
  });

  it('matches an IPv4-mapped IPv6 CIDR', () => {
    expect(matchesPattern({ ip: [{ cidr: '::ffff:10.0.0.0/120' }] }, { ip: '::ffff:10.0.0.7' })).toBe(true);
  });

  it('matches nothing when the event is not an object', () => {
    expect(matchesPattern({ source: ['aws.ec2'] }, 'aws.ec2')).toBe(false);
  });
});

const malformed: [string, unknown, string][] = [
  ['not an object', ['aws.ec2'], '$'],
  ['empty pattern', {}, '$'],
  ['leaf not an array', { source: 'aws.ec2' }, '$.source'],
  ['empty matcher list', { source: [] }, '$.source'],
  ['unknown operator', { source: [{ contains: 'ec2' }] }, '$.source[0]'],
  ['two operators in one matcher', { source: [{ prefix: 'a', suffix: 'b' }] }, '$.source[0]'],
  ['prefix with a number', { source: [{ prefix: 1 }] }, '$.source[0].prefix'],
  ['exists with a string', { source: [{ exists: 'yes' }] }, '$.source[0].exists'],
  ['numeric with an unknown operator', { n: [{ numeric: ['!=', 1] }] }, '$.n[0].numeric[0]'],
  ['numeric with a string bound', { n: [{ numeric: ['>', '1'] }] }, '$.n[0].numeric[1]'],
  ['numeric inverted range', { n: [{ numeric: ['>', 5, '<', 1] }] }, '$.n[0].numeric'],
  ['numeric range in the wrong order', { n: [{ numeric: ['<', 5, '>', 1] }] }, '$.n[0].numeric'],
  ['anything-but mixed list', { s: [{ 'anything-but': ['a', 1] }] }, '$.s[0].anything-but'],
  ['anything-but empty list', { s: [{ 'anything-but': [] }] }, '$.s[0].anything-but'],
  ['anything-but unknown inner', { s: [{ 'anything-but': { numeric: ['>', 1] } }] }, '$.s[0].anything-but'],
  ['wildcard with consecutive stars', { s: [{ wildcard: 'a**b' }] }, '$.s[0].wildcard'],
  ['wildcard with a stray backslash', { s: [{ wildcard: 'a\\b' }] }, '$.s[0].wildcard'],
  ['cidr without prefix', { ip: [{ cidr: '10.0.0.0' }] }, '$.ip[0].cidr'],
  ['cidr prefix too long', { ip: [{ cidr: '10.0.0.0/33' }] }, '$.ip[0].cidr'],
  ['cidr bad address', { ip: [{ cidr: '10.0.0.300/24' }] }, '$.ip[0].cidr'],
  ['$or with one alternative', { $or: [{ source: ['a'] }] }, '$.$or'],
  ['$or alternative not an object', { $or: [{ source: ['a'] }, ['b']] }, '$.$or[1]'],
  ['empty nested object', { detail: {} }, '$.detail'],
];

describe('Function: validatePattern', () => {
  it.each(malformed)('rejects %s', (_name, pattern, path) => {
    expect(() => validatePattern(pattern)).toThrow(InvalidPatternError);
    try {
      validatePattern(pattern);
    } catch (err) {
      expect((err as InvalidPatternError).path).toBe(path);
      expect((err as Error).message).toContain(`invalid event pattern at ${path}`);
    }
  });

  it('accepts every pattern of the matching table', () => {
    for (const [, pattern] of matching) expect(() => validatePattern(pattern)).not.toThrow();
  });

  it('makes matchesPattern throw rather than silently match nothing', () => {
    expect(() => matchesPattern({ source: 'aws.ec2' }, ec2Event)).toThrow(/leaf must be an array/);
  });
});
