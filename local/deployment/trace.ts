import type { GuestTrace } from '../lab/guests';
import type { RegionEvent } from '../region/model/index';

/** One line of what happened, in order: the demo prints these as progress lines. */
export type Trace =
  | { kind: 'event'; detailType: string; summary: string; rule: string; target: string }
  | { kind: 'log'; level: string; message: string; data: Record<string, unknown> }
  | { kind: 'status'; instanceId: string; status: string | undefined }
  | { kind: 'clock'; advancedMs: number; why: string }
  | { kind: 'dropped'; detailType: string; summary: string }
  | GuestTrace;

/** The instance id at the end of a resource ARN (`arn:aws:ec2:…:instance/i-…`). */
export function resourceId(event: RegionEvent): string {
  return (
    String(event.resources[0] ?? '')
      .split('/')
      .pop() ?? ''
  );
}

/** A one-line summary of an event for the progress lines. */
export function summarize(event: RegionEvent): string {
  const d = event.detail as Record<string, unknown>;
  switch (event['detail-type']) {
    case 'EC2 Instance State-change Notification':
      return `${d['instance-id']} ${d.state}`;
    case 'Tag Change on Resource': {
      const tags = (d.tags ?? {}) as Record<string, string>;
      const keys = (d['changed-tag-keys'] ?? []) as string[];
      return `${resourceId(event)} ${keys.map((k) => (k in tags ? `${k}=${tags[k]}` : `${k} deleted`)).join(' ')}`;
    }
    case 'EC2 Command Invocation Status-change Notification':
      return `${d['instance-id']} ${d['document-name']} ${d.status}`;
    default:
      return event.resources.join(' ');
  }
}
