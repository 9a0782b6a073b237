import { describe, expect, it } from 'vitest';
import { longLines, MAX_LINE } from '#scripts/check-line-length';

describe('Function: longLines', () => {
  it.each([
    ['a line of exactly the maximum passes', 'x'.repeat(MAX_LINE), []],
    ['one character more fails, with its line number', `ok\n${'x'.repeat(MAX_LINE + 1)}`, ['f.ts:2: 121 characters']],
    ['counts characters, not UTF-8 bytes', '→'.repeat(MAX_LINE), []],
    ['an empty file passes', '', []],
  ])('%s', (_name, text, expected) => {
    expect(longLines('f.ts', text)).toEqual(expected);
  });
});
