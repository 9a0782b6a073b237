import type { Config } from '../config';

/** What the instance's tags ask for. Validation errors are values, never throws. */
export type DesiredState =
  | { valid: true; count: number; pool: string | undefined; onStop: 'keep' | 'release' }
  | { valid: false; error: string };

/**
 * Above this an `eip-count` is absurd: the largest instance types have ~50 ENIs x 50 IPv4 addresses, and the
 * per-type capacity check gives the precise message below it.
 */
export const MAX_COUNT = 2000;

/** Reads the desired state from an instance's tags (pure). */
export function desiredFromTags(
  tags: Readonly<Record<string, string>>,
  config: Pick<Config, 'countTagKey' | 'poolTagKey' | 'onStopTagKey'>,
): DesiredState {
  const rawCount = tags[config.countTagKey];
  let count = 0;
  if (rawCount !== undefined) {
    const trimmed = rawCount.trim();
    if (!/^\d+$/.test(trimmed)) {
      return { valid: false, error: `${config.countTagKey} "${rawCount}" is not a whole number` };
    }
    count = Number(trimmed);
    if (count > MAX_COUNT) {
      return { valid: false, error: `${config.countTagKey} ${trimmed} is larger than ${MAX_COUNT}` };
    }
  }
  const rawPool = tags[config.poolTagKey];
  const pool = rawPool?.trim();
  if (rawPool !== undefined && pool === '') return { valid: false, error: `${config.poolTagKey} is empty` };
  const rawOnStop = (tags[config.onStopTagKey] ?? 'keep').trim().toLowerCase();
  if (rawOnStop !== 'keep' && rawOnStop !== 'release') {
    return { valid: false, error: `${config.onStopTagKey} "${tags[config.onStopTagKey]}" must be keep or release` };
  }
  return { valid: true, count, pool, onStop: rawOnStop };
}
