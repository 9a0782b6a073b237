/**
 * What a user (or the demo, or a test) does to and reads from the deployment: launch, tag, stop, start, terminate
 * instances over the wire, and read back the status tag and the addresses (with guests, also the guest's view).
 */
import {
  CreateTagsCommand,
  type EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { LabGuests } from '../lab/guests';
import type { Region } from '../region/model/index';

/** Status tag written by the reconciler (fixed key, docs/ARCHITECTURE.md). */
export const STATUS_TAG = 'eip-autopilot:status';
const MANAGED_TAG = 'eip-autopilot:managed';
const OWNER_TAG = 'eip-autopilot:instance-id';

/** An owned or associated address of an instance, as the demo's table shows it. */
export interface AddressRow {
  publicIp: string;
  allocationId: string;
  privateIp: string;
  eniId: string;
  deviceIndex: number;
  /** Guest interface that holds the private IP (`ip addr` in the guest), '' if none; undefined without guests. */
  guestDevice?: string;
  /** What the echo server saw when the guest called out from the private IP; undefined without guests. */
  egress?: string;
}

/** An address eip-autopilot owns, as the demo's cleanup check lists it. */
export interface OwnedAddress {
  allocationId: string;
  publicIp: string;
  associated: boolean;
  instanceId: string;
}

const tagList = (tags: Record<string, string>): Tag[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** The user's side of a deployment. */
export class Driver {
  constructor(
    private readonly ec2: EC2Client,
    private readonly region: Region,
    private readonly guests: LabGuests | undefined,
  ) {}

  /** Launches one instance (optionally tagged at launch); returns its id. */
  async launch(instanceType: string, tags: Record<string, string> = {}): Promise<string> {
    const out = await this.ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        InstanceType: instanceType as never,
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications:
          Object.keys(tags).length > 0 ? [{ ResourceType: 'instance', Tags: tagList(tags) }] : undefined,
      }),
    );
    const id = out.Instances?.[0]?.InstanceId;
    if (!id) throw new Error('RunInstances returned no instance id');
    return id;
  }

  async setTags(instanceId: string, tags: Record<string, string>): Promise<void> {
    await this.ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: tagList(tags) }));
  }

  async terminate(instanceId: string): Promise<void> {
    await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  }

  async stop(instanceId: string): Promise<void> {
    await this.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
  }

  async start(instanceId: string): Promise<void> {
    await this.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  }

  async statusOf(instanceId: string): Promise<string | undefined> {
    const out = await this.region.ec2('DescribeInstances', { InstanceIds: [instanceId] });
    return out.Reservations?.[0]?.Instances?.[0]?.Tags?.find((t) => t.Key === STATUS_TAG)?.Value;
  }

  /** The instance's addresses, primary ENI first, in private-IP order; with guests, also the guest's view. */
  async addresses(instanceId: string, opts: { verify?: boolean } = {}): Promise<AddressRow[]> {
    const region = this.region;
    const out = await region.ec2('DescribeAddresses', { Filters: [{ Name: 'instance-id', Values: [instanceId] }] });
    const enis =
      (
        await region.ec2('DescribeNetworkInterfaces', {
          Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
        })
      ).NetworkInterfaces ?? [];
    const position = (eniId: string, ip: string) => {
      const eni = enis.find((e) => e.NetworkInterfaceId === eniId);
      const ipIndex = eni?.PrivateIpAddresses?.findIndex((p) => p.PrivateIpAddress === ip) ?? -1;
      return { deviceIndex: eni?.Attachment?.DeviceIndex ?? -1, ipIndex };
    };
    const rows: AddressRow[] = (out.Addresses ?? []).map((a) => ({
      publicIp: a.PublicIp ?? '',
      allocationId: a.AllocationId ?? '',
      privateIp: a.PrivateIpAddress ?? '',
      eniId: a.NetworkInterfaceId ?? '',
      deviceIndex: position(a.NetworkInterfaceId ?? '', a.PrivateIpAddress ?? '').deviceIndex,
    }));
    rows.sort((x, y) => {
      const px = position(x.eniId, x.privateIp);
      const py = position(y.eniId, y.privateIp);
      return px.deviceIndex - py.deviceIndex || px.ipIndex - py.ipIndex;
    });
    const lab = this.guests ? await this.guests.lab(instanceId) : undefined;
    if (lab && opts.verify !== false) {
      const { stdout } = await lab.exec(['ip', '-o', '-4', 'addr', 'show']);
      const devices = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const m = /^\d+:\s+(\S+)\s+inet\s+([0-9.]+)\//.exec(line);
        if (m?.[1] && m[2]) devices.set(m[2], m[1].replace(/@.*$/, ''));
      }
      for (const row of rows) {
        row.guestDevice = devices.get(row.privateIp) ?? '';
        row.egress = await lab.egressIp(row.privateIp);
      }
    }
    return rows;
  }

  /** Every address eip-autopilot owns (`eip-autopilot:managed=true`), associated or not; or those of one instance. */
  async ownedAddresses(instanceId?: string): Promise<OwnedAddress[]> {
    const filters = [{ Name: `tag:${MANAGED_TAG}`, Values: ['true'] }];
    if (instanceId) filters.push({ Name: `tag:${OWNER_TAG}`, Values: [instanceId] });
    const out = await this.region.ec2('DescribeAddresses', { Filters: filters });
    return (out.Addresses ?? []).map((a) => ({
      allocationId: a.AllocationId ?? '',
      publicIp: a.PublicIp ?? '',
      associated: Boolean(a.AssociationId),
      instanceId: a.Tags?.find((t) => t.Key === OWNER_TAG)?.Value ?? '',
    }));
  }
}
