import { describe, expect, it } from 'vitest';
import { intToIpv4, ipv4ToInt } from '#src/ipv4';

describe('Function: ipv4ToInt', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.1.9', 167772425],
    ['255.255.255.255', 4294967295],
  ])('%s → %i (unsigned, so addresses above 128.0.0.0 still sort after the rest)', (ip, n) => {
    expect(ipv4ToInt(ip)).toBe(n);
    expect(intToIpv4(n)).toBe(ip);
  });

  it.each(['10.0.1', '10.0.1.256', '10.0.1.-1', '10.0.1.x', '', '1.2.3.4.5'])('rejects %j with NaN', (text) => {
    expect(ipv4ToInt(text)).toBeNaN();
  });
});
