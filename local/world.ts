import { EC2Client, RunInstancesCommand, type Tag } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createRegion, type Region, type RegionOptions } from './region/model/index';
import { splitCalls } from './region/calls';
import { mockRegion, type RegionMocks } from './region/sdk-mock';
import type { LocalSqs } from './sqs-fifo';
import { type Ec2Port, ec2Adapter } from '#src/aws/ec2-port';
import { DEFAULT_TAG_KEYS } from '#src/config';
import { ssmAdapter } from '#src/aws/ssm-port';
import { recordGuestResult } from '#src/reconcile/guest-status';
import type { ReconcileDeps } from '#src/reconcile/reconcile';
import { TAG } from '#src/tags';

export const DOCUMENT = 'eip-autopilot-guest-sync';

/** The region model behind real SDK clients, with the reconciler's deps wired to it. */
export interface World {
  region: Region;
  mocks: RegionMocks;
  deps: ReconcileDeps;
  ec2: EC2Client;
  /** Calls since the last `mark()`, split into reads and writes (EC2 + SSM). */
  since(): { reads: string[]; writes: string[] };
  mark(): void;
  launch(type: string, tags: Record<string, string>): Promise<string>;
  /** Waits for guest commands and feeds their invocation status events to the command-status core. */
  settleGuest(): Promise<void>;
  /** Owned addresses that are allocated but not associated (money leaking by the hour). */
  leakedOwned(): Promise<number>;
  tags(instanceId: string): Promise<Record<string, string>>;
}

/** Pass `queues` to serve SQS too; without `clients` the mocks apply to every client (the handlers build their own). */
export async function makeWorld(opts: RegionOptions = {}, queues?: LocalSqs): Promise<World> {
  const region = createRegion({ eipQuota: 50, ...opts });
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const ssm = new SSMClient({ region: 'us-east-1' });
  const mocks = queues ? mockRegion(region, queues) : mockRegion(region, undefined, { ec2, ssm });
  await region.ssm('CreateDocument', {
    Name: DOCUMENT,
    DocumentType: 'Command',
    DocumentFormat: 'YAML',
    Content:
      "schemaVersion: '2.2'\ndescription: test\nmainSteps:\n  - action: aws:runShellScript\n    name: sync\n    " +
      "inputs:\n      runCommand: ['true']\n",
  });
  const events: { instanceId: string; status: string }[] = [];
  region.onEvent((e) => {
    const d = e.detail as Record<string, unknown>;
    if (e['detail-type'] === 'EC2 Command Invocation Status-change Notification' && d['document-name'] === DOCUMENT) {
      events.push({ instanceId: String(d['instance-id']), status: String(d.status) });
    }
  });
  const port: Ec2Port = ec2Adapter(ec2);
  let mark = region.calls.length;
  const world: World = {
    region,
    mocks,
    ec2,
    deps: {
      ec2: port,
      ssm: ssmAdapter(ssm),
      config: {
        ...DEFAULT_TAG_KEYS,
        guestDocumentName: DOCUMENT,
        dryRun: false,
      },
    },
    since() {
      return splitCalls(region.calls.slice(mark));
    },
    mark() {
      mark = region.calls.length;
    },
    async launch(type, tags) {
      const Tags: Tag[] = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12345678',
          InstanceType: type as never,
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: Tags.length > 0 ? [{ ResourceType: 'instance', Tags }] : undefined,
        }),
      );
      region.tick();
      return out.Instances?.[0]?.InstanceId ?? '';
    },
    async settleGuest() {
      await region.idle();
      for (const e of events.splice(0)) await recordGuestResult(port, e.instanceId, e.status);
    },
    async leakedOwned() {
      const all = await port.describeAddresses([{ Name: `tag:${TAG.managed}`, Values: ['true'] }]);
      return all.filter((a) => !a.AssociationId).length;
    },
    async tags(instanceId) {
      const inst = await port.describeInstance(instanceId);
      return Object.fromEntries((inst?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    },
  };
  return world;
}

/** Wraps a port so that the k-th write (1-based) and everything after it throw, as if the process died there. */
/**
 * The port with its `k`-th write throttled (`RequestLimitExceeded`, as after the SDK's retries): that one call fails,
 * every other call goes through. The run goes on, unlike {@link killAfter}.
 */
export function throttleAt(port: Ec2Port, k: number): Ec2Port {
  let writes = 0;
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const isRead = /^describe|^wait/.test(String(prop));
      return (...args: unknown[]) => {
        if (!isRead && ++writes === k)
          return Promise.reject(Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' }));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export function killAfter(port: Ec2Port, k: number): Ec2Port {
  let writes = 0;
  let dead = false;
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const name = String(prop);
      const isRead = /^describe|^wait/.test(name);
      return (...args: unknown[]) => {
        if (dead) return Promise.reject(Object.assign(new Error('killed'), { name: 'Killed' }));
        if (!isRead && ++writes >= k) {
          dead = true;
          return Promise.reject(Object.assign(new Error('killed'), { name: 'Killed' }));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
