import type { EventBridgeEvent } from 'aws-lambda';
import type { Rng } from './rng';

/** An event as EventBridge delivers it (`detail-type`, `source`, `detail`, …). */
export type RegionEvent = EventBridgeEvent<string, Record<string, unknown>>;

/** What the EC2 and SSM halves of the model share. */
export interface RegionContext {
  account: string;
  region: string;
  /** Milliseconds since the epoch; injected so tests and the demo drive time. */
  now(): number;
  /** Deterministic ids. */
  rng: Rng;
  /** Emits an event in EventBridge's shape to every listener. */
  emit(detailType: string, source: string, resources: string[], detail: Record<string, unknown>): void;
}

/** Formats a time like EventBridge's `time` field: ISO 8601 without milliseconds. */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
