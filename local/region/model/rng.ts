/**
 * Seeded pseudo-random numbers, so ids (`i-…`, `eni-…`, `eipalloc-…`) and throttling are reproducible in tests.
 * mulberry32: tiny, fast, good enough for ids; no npm package is needed for 6 lines.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** `n` lowercase hex digits. */
  hex(n: number): string;
  /** RFC 4122-shaped v4 UUID (AWS uses them for event ids and SSM command ids). */
  uuid(): string;
}

/** Creates a deterministic generator from a 32-bit seed. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(next() * 16).toString(16);
    return s;
  };
  const uuid = (): string => {
    const variant = ((Math.floor(next() * 4) + 8) >>> 0).toString(16);
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  };
  return { next, hex, uuid };
}
