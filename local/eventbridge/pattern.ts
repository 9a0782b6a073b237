/**
 * An Amazon EventBridge event-pattern matcher for the local region's event bus and the stack checks.
 *
 * Written here because no npm package implements the documented operator set correctly (the popular ones miss
 * `wildcard`, `cidr`, `anything-but` with `prefix`/`suffix`/`equals-ignore-case`, or treat event arrays wrongly).
 * Semantics follow the EventBridge user guide, "Content filtering in Amazon EventBridge event patterns" and
 * "Comparison operators for use in event patterns":
 * - a pattern is an object; every key must match (AND); a leaf is a non-empty array of matchers (OR);
 * - a field missing from the event matches nothing but `{"exists": false}`;
 * - an array in the event matches when any of its elements matches;
 * - `null` and `""` are distinct values;
 * - `$or` takes an array of at least two sub-patterns, any of which may match.
 */

/** A pattern that {@link validatePattern} rejected, with the JSON path of the offending part. */
export class InvalidPatternError extends Error {
  override readonly name = 'InvalidPatternError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`invalid event pattern at ${path}: ${detail}`);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);
const MATCHER_OPERATORS = new Set([
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'equals-ignore-case',
  'wildcard',
  'cidr',
]);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

/**
 * Throws {@link InvalidPatternError} when `pattern` is not a well-formed EventBridge event pattern
 * (unknown operator, operator with the wrong operand type, empty matcher list, leaf that is not an array, ...).
 */
export function validatePattern(pattern: unknown): void {
  if (!isObject(pattern) || Object.keys(pattern).length === 0) {
    throw new InvalidPatternError('$', 'a pattern must be a non-empty JSON object');
  }
  validateObject(pattern, '$');
}

function validateObject(node: JsonObject, path: string): void {
  for (const [key, value] of Object.entries(node)) {
    const here = `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new InvalidPatternError(here, '$or takes an array of at least two patterns');
      }
      value.forEach((alternative, i) => {
        if (!isObject(alternative) || Object.keys(alternative).length === 0) {
          throw new InvalidPatternError(`${here}[${i}]`, 'each $or alternative must be a non-empty object');
        }
        validateObject(alternative, `${here}[${i}]`);
      });
    } else if (isObject(value)) {
      if (Object.keys(value).length === 0) throw new InvalidPatternError(here, 'empty object');
      validateObject(value, here);
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidPatternError(here, 'a matcher list must not be empty');
      value.forEach((matcher, i) => {
        validateMatcher(matcher, `${here}[${i}]`);
      });
    } else {
      throw new InvalidPatternError(here, `a leaf must be an array of matchers, got ${JSON.stringify(value)}`);
    }
  }
}

function singleOperator(matcher: JsonObject, path: string): [string, Json] {
  const entries = Object.entries(matcher);
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) {
    throw new InvalidPatternError(path, 'a matcher object must have exactly one operator');
  }
  return first;
}

function validateMatcher(matcher: unknown, path: string): void {
  if (isPrimitive(matcher)) return;
  if (!isObject(matcher)) throw new InvalidPatternError(path, 'a matcher must be a value or an operator object');
  const [op, operand] = singleOperator(matcher, path);
  if (!MATCHER_OPERATORS.has(op)) throw new InvalidPatternError(path, `unknown operator "${op}"`);
  switch (op) {
    case 'prefix':
    case 'suffix':
      validateStringOrIgnoreCase(operand, `${path}.${op}`);
      return;
    case 'equals-ignore-case':
    case 'cidr':
      if (typeof operand !== 'string') throw new InvalidPatternError(`${path}.${op}`, 'expects a string');
      if (op === 'cidr') parseCidr(operand, `${path}.${op}`);
      return;
    case 'wildcard':
      if (typeof operand !== 'string') throw new InvalidPatternError(`${path}.${op}`, 'expects a string');
      compileWildcard(operand, `${path}.${op}`);
      return;
    case 'exists':
      if (typeof operand !== 'boolean') throw new InvalidPatternError(`${path}.exists`, 'expects true or false');
      return;
    case 'numeric':
      validateNumeric(operand, `${path}.numeric`);
      return;
    case 'anything-but':
      validateAnythingBut(operand, `${path}.anything-but`);
      return;
  }
}

function validateStringOrIgnoreCase(operand: Json, path: string): void {
  if (typeof operand === 'string') return;
  if (isObject(operand)) {
    const [op, value] = singleOperator(operand, path);
    if (op === 'equals-ignore-case' && typeof value === 'string') return;
  }
  throw new InvalidPatternError(path, 'expects a string or {"equals-ignore-case": string}');
}

function validateNumeric(operand: Json, path: string): void {
  // One or two comparisons: [op, n] or [lower-op, n, upper-op, m] (">"/">=" then "<"/"<="), as documented.
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    throw new InvalidPatternError(path, 'expects [op, number] or [op, number, op, number]');
  }
  for (let i = 0; i < operand.length; i += 2) {
    const op = operand[i];
    const value = operand[i + 1];
    if (typeof op !== 'string' || !NUMERIC_OPERATORS.has(op)) {
      throw new InvalidPatternError(`${path}[${i}]`, `unknown numeric operator ${JSON.stringify(op)}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidPatternError(`${path}[${i + 1}]`, 'expects a finite number');
    }
  }
  if (operand.length === 4) {
    const [lowOp, low, highOp, high] = operand as [string, number, string, number];
    if (!(lowOp === '>' || lowOp === '>=') || !(highOp === '<' || highOp === '<=')) {
      throw new InvalidPatternError(path, 'a range is a lower bound (> or >=) followed by an upper bound (< or <=)');
    }
    if (low >= high) throw new InvalidPatternError(path, 'the lower bound must be below the upper bound');
  }
}

function validateAnythingBut(operand: Json, path: string): void {
  if (typeof operand === 'string' || typeof operand === 'number') return;
  if (Array.isArray(operand)) {
    const allStrings = operand.every((v) => typeof v === 'string');
    const allNumbers = operand.every((v) => typeof v === 'number');
    if (operand.length > 0 && (allStrings || allNumbers)) return;
    throw new InvalidPatternError(path, 'a list must be non-empty and hold only strings or only numbers');
  }
  if (isObject(operand)) {
    const [op, value] = singleOperator(operand, path);
    if ((op === 'prefix' || op === 'suffix') && typeof value === 'string') return;
    if (op === 'wildcard' && typeof value === 'string') {
      compileWildcard(value, `${path}.wildcard`);
      return;
    }
    if (op === 'equals-ignore-case') {
      if (typeof value === 'string') return;
      if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return;
    }
    throw new InvalidPatternError(path, `unsupported anything-but operand ${JSON.stringify(operand)}`);
  }
  throw new InvalidPatternError(path, 'expects a string, a number, a list, or a prefix/suffix/wildcard/ignore-case');
}

// ---------------------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------------------

const MISSING = Symbol('missing');
type Field = Json | typeof MISSING;

/**
 * True when `event` matches the EventBridge `pattern`. Validates the pattern first (throws
 * {@link InvalidPatternError} on a malformed one), so a typo never silently matches nothing.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  validatePattern(pattern);
  return matchObject(pattern as JsonObject, event as Json);
}

function matchObject(pattern: JsonObject, event: Field): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    if (key === '$or') return (sub as JsonObject[]).some((alternative) => matchObject(alternative, event));
    const field: Field = isObject(event) && Object.hasOwn(event, key) ? (event[key] as Json) : MISSING;
    if (isObject(sub)) return matchNested(sub, field);
    return matchLeaf(sub as Json[], field);
  });
}

function matchNested(pattern: JsonObject, field: Field): boolean {
  // An array of objects in the event matches when one of its elements does.
  if (Array.isArray(field)) return field.some((element) => matchNested(pattern, element));
  return matchObject(pattern, isObject(field) ? field : MISSING);
}

function matchLeaf(matchers: Json[], field: Field): boolean {
  if (field === MISSING) return matchers.some((m) => isObject(m) && m.exists === false);
  const values: Json[] = Array.isArray(field) ? field : [field];
  return matchers.some((matcher) => {
    if (isObject(matcher) && Object.hasOwn(matcher, 'exists')) {
      // exists only looks at leaves: an object (or an array of only objects) is not a leaf.
      const hasLeaf = values.some((v) => !isObject(v));
      return matcher.exists === true ? hasLeaf : !hasLeaf;
    }
    return values.some((value) => matchValue(matcher, value));
  });
}

function matchValue(matcher: Json, value: Json): boolean {
  if (!isObject(matcher)) return equalValues(matcher, value);
  const [op, operand] = Object.entries(matcher)[0] as [string, Json];
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && affix(operand, value, (v, p) => v.startsWith(p));
    case 'suffix':
      return typeof value === 'string' && affix(operand, value, (v, s) => v.endsWith(s));
    case 'equals-ignore-case':
      return typeof value === 'string' && foldCase(value) === foldCase(operand as string);
    case 'wildcard':
      return typeof value === 'string' && compileWildcard(operand as string, '$').test(value);
    case 'cidr':
      return typeof value === 'string' && cidrContains(parseCidr(operand as string, '$'), value);
    case 'numeric':
      return typeof value === 'number' && numericMatches(operand as (string | number)[], value);
    case 'anything-but':
      return anythingBut(operand, value);
    default:
      return false;
  }
}

function equalValues(expected: Json, actual: Json): boolean {
  // JSON numbers arrive parsed, so 300 and 3.0e2 are the same value here; null and "" stay distinct, as documented.
  return expected === actual;
}

function foldCase(s: string): string {
  return s.toLowerCase();
}

function affix(operand: Json, value: string, test: (value: string, affix: string) => boolean): boolean {
  if (typeof operand === 'string') return test(value, operand);
  const ignoreCase = (operand as JsonObject)['equals-ignore-case'] as string;
  return test(foldCase(value), foldCase(ignoreCase));
}

function numericMatches(operand: (string | number)[], value: number): boolean {
  for (let i = 0; i < operand.length; i += 2) {
    const op = operand[i] as string;
    const bound = operand[i + 1] as number;
    const ok =
      op === '='
        ? value === bound
        : op === '<'
          ? value < bound
          : op === '<='
            ? value <= bound
            : op === '>'
              ? value > bound
              : value >= bound;
    if (!ok) return false;
  }
  return true;
}

function anythingBut(operand: Json, value: Json): boolean {
  if (typeof operand === 'string' || typeof operand === 'number') {
    return (typeof value === 'string' || typeof value === 'number') && value !== operand;
  }
  if (Array.isArray(operand)) {
    return (typeof value === 'string' || typeof value === 'number') && !operand.includes(value);
  }
  if (typeof value !== 'string') return false;
  const [op, inner] = Object.entries(operand as JsonObject)[0] as [string, Json];
  switch (op) {
    case 'prefix':
      return !value.startsWith(inner as string);
    case 'suffix':
      return !value.endsWith(inner as string);
    case 'wildcard':
      return !compileWildcard(inner as string, '$').test(value);
    default: {
      const excluded = (Array.isArray(inner) ? inner : [inner]) as string[];
      return !excluded.some((e) => foldCase(e) === foldCase(value));
    }
  }
}

const wildcardCache = new Map<string, RegExp>();

/** `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash (as documented). */
function compileWildcard(source: string, path: string): RegExp {
  const cached = wildcardCache.get(source);
  if (cached) return cached;
  let regex = '^';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '\\') {
      const next = source[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new InvalidPatternError(path, 'a backslash in a wildcard may only escape * or \\');
      }
      regex += `\\${next}`;
      i++;
    } else if (ch === '*') {
      // EventBridge rejects consecutive wildcards: they add cost without changing the meaning.
      if (source[i + 1] === '*') throw new InvalidPatternError(path, 'consecutive * characters are not allowed');
      regex += '[\\s\\S]*';
    } else {
      regex += ch.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  const compiled = new RegExp(`${regex}$`);
  wildcardCache.set(source, compiled);
  return compiled;
}

// --- CIDR ---------------------------------------------------------------------------------------------------

interface Cidr {
  readonly bits: number;
  readonly network: bigint;
  readonly prefix: number;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    out = (out << 8n) | BigInt(part);
  }
  return out;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = toGroups(halves[0] as string);
  const tail = halves.length === 2 ? toGroups(halves[1] as string) : [];
  const groups = [...head, ...tail];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const last = groups[groups.length - 1];
  let v4: bigint | undefined;
  if (last?.includes('.')) {
    v4 = parseIpv4(last);
    if (v4 === undefined) return undefined;
    groups.pop();
    if (tail.length > 0) tail.pop();
    else head.pop();
  }
  const width = 8 - (v4 === undefined ? 0 : 2);
  const missing = width - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const full = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let out = 0n;
  for (const group of full) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    out = (out << 16n) | BigInt(`0x${group}`);
  }
  return v4 === undefined ? out : (out << 32n) | v4;
}

function parseCidr(text: string, path: string): Cidr {
  const [address, prefixText, extra] = text.split('/');
  if (address === undefined || prefixText === undefined || extra !== undefined || !/^\d+$/.test(prefixText)) {
    throw new InvalidPatternError(path, `"${text}" is not a CIDR block (address/prefix)`);
  }
  const v4 = parseIpv4(address);
  const bits = v4 !== undefined ? 32 : 128;
  const ip = v4 ?? parseIpv6(address);
  const prefix = Number(prefixText);
  if (ip === undefined || prefix > bits) throw new InvalidPatternError(path, `"${text}" is not a CIDR block`);
  return { bits, network: ip >> BigInt(bits - prefix), prefix };
}

function cidrContains(cidr: Cidr, value: string): boolean {
  const ip = cidr.bits === 32 ? parseIpv4(value) : parseIpv6(value);
  if (ip === undefined) return false;
  return ip >> BigInt(cidr.bits - cidr.prefix) === cidr.network;
}
