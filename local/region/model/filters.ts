import type { Filter, Tag } from '@aws-sdk/client-ec2';
import { regionError } from './errors';

/**
 * EC2 filter semantics: values of one filter are OR-ed, filters are AND-ed, values may use the `*` and `?`
 * wildcards. Each resource kind declares which filter names it supports and how to read them; an unknown name is
 * refused like EC2 does (`InvalidParameterValue`), so a typo in the reconciler fails loudly instead of matching all.
 */
export type FieldReader<T> = (item: T) => Iterable<string | undefined> | string | undefined;

const globCache = new Map<string, RegExp | string>();

function compile(value: string): RegExp | string {
  let compiled = globCache.get(value);
  if (compiled === undefined) {
    if (!/[*?]/.test(value)) compiled = value;
    else {
      const escaped = value
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.');
      compiled = new RegExp(`^${escaped}$`, 's');
    }
    globCache.set(value, compiled);
  }
  return compiled;
}

function matchesValue(pattern: RegExp | string, actual: string): boolean {
  return typeof pattern === 'string' ? pattern === actual : pattern.test(actual);
}

/** A compiled filter list: call it on an item to know whether it passes every filter. */
export type Predicate<T> = (item: T) => boolean;

/**
 * Compiles `filters` against the readers of one resource kind. `tag:<key>`, `tag-key` and `tag-value` are handled
 * here for every kind through `tags`.
 */
export function compileFilters<T>(
  filters: Filter[] | undefined,
  readers: Record<string, FieldReader<T>>,
  tags: (item: T) => Map<string, string>,
): Predicate<T> {
  const checks: Predicate<T>[] = [];
  for (const filter of filters ?? []) {
    const name = filter.Name;
    if (!name) throw regionError('InvalidParameterValue', 'The filter name must not be empty');
    const compiled = (filter.Values ?? []).map(compile);
    if (compiled.length === 0) throw regionError('InvalidParameterValue', `The filter '${name}' has no values`);
    // Exact values go in a Set: the sweep filters on up to 1,000 instance ids at a time.
    const exact = new Set(compiled.filter((p): p is string => typeof p === 'string'));
    const globs = compiled.filter((p): p is RegExp => typeof p !== 'string');
    const any = (values: Iterable<string | undefined>): boolean => {
      for (const v of values)
        if (v !== undefined && (exact.has(v) || globs.some((p) => matchesValue(p, v)))) return true;
      return false;
    };
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      checks.push((item) => {
        const v = tags(item).get(key);
        return v !== undefined && any([v]);
      });
    } else if (name === 'tag-key') {
      checks.push((item) => any(tags(item).keys()));
    } else if (name === 'tag-value') {
      checks.push((item) => any(tags(item).values()));
    } else {
      const reader = readers[name];
      if (!reader) throw regionError('InvalidParameterValue', `The filter '${name}' is invalid`);
      checks.push((item) => {
        const read = reader(item);
        if (read === undefined) return false;
        return any(typeof read === 'string' ? [read] : read);
      });
    }
  }
  return (item) => checks.every((check) => check(item));
}

/** Tags as the SDK shapes them (`[{Key, Value}]`), or undefined when there are none (AWS omits an empty tagSet). */
export function tagList(tags: Map<string, string>): Tag[] | undefined {
  if (tags.size === 0) return undefined;
  return [...tags].map(([Key, Value]) => ({ Key, Value }));
}

/** Opaque pagination token: EC2 tokens are opaque strings; ours encode the position to resume from. */
export function encodeToken(position: number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString('base64url');
}

/** Decodes a token made by {@link encodeToken}; anything else is `InvalidParameterValue` like EC2's bad tokens. */
export function decodeToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof parsed.p === 'number' && Number.isInteger(parsed.p) && parsed.p >= 0) return parsed.p;
  } catch {
    // fall through to the error below
  }
  throw regionError('InvalidParameterValue', `Invalid value '${token}' for NextToken`);
}

/** Validates MaxResults against EC2's documented bounds for the action. */
export function checkMaxResults(max: number | undefined, min: number, limit: number): number | undefined {
  if (max === undefined) return undefined;
  if (!Number.isInteger(max) || max < min || max > limit) {
    throw regionError(
      'InvalidParameterValue',
      `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${limit}.`,
    );
  }
  return max;
}
