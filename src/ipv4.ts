/**
 * IPv4 arithmetic shared by the reconciler (address order), the local region (subnet allocation) and the VPC lab
 * (gateways). Hand-written: two lines each, and Node's `net` module validates addresses but does no arithmetic.
 */

/** A dotted quad as an unsigned 32-bit integer; `NaN` when the text is not an IPv4 address. */
export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return Number.NaN;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

/** An unsigned 32-bit integer as a dotted quad. */
export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
