import { isReadAction } from '#src/aws/rate-limit';
import type { CallRecord } from './model/index';

/** Whether an API action only reads: the one classifier, shared with the functions' own rate limiter. */
export const isRead = isReadAction;

/** The actions of `calls`, split into reads and writes, in call order. */
export function splitCalls(calls: readonly CallRecord[]): { reads: string[]; writes: string[] } {
  const actions = calls.map((c) => c.action);
  return { reads: actions.filter(isRead), writes: actions.filter((a) => !isRead(a)) };
}

/** The EC2 writes among `calls` that succeeded, tag writes excepted (a status write changes no address), in order. */
export function ec2Changes(calls: readonly CallRecord[]): string[] {
  return calls
    .filter((c) => c.service === 'ec2' && c.ok && !isRead(c.action) && c.action !== 'CreateTags')
    .map((c) => c.action);
}
