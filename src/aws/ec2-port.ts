import {
  type AccountAttributeName,
  type Address,
  AllocateAddressCommand,
  type AllocateAddressCommandInput,
  AssignPrivateIpAddressesCommand,
  type AssignPrivateIpAddressesCommandInput,
  AssociateAddressCommand,
  type AssociateAddressCommandInput,
  AttachNetworkInterfaceCommand,
  type AttachNetworkInterfaceCommandInput,
  CreateNetworkInterfaceCommand,
  type CreateNetworkInterfaceCommandInput,
  CreateTagsCommand,
  type CreateTagsCommandInput,
  DeleteNetworkInterfaceCommand,
  DeleteTagsCommand,
  type DeleteTagsCommandInput,
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  DisassociateAddressCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type InstanceTypeInfo,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
  paginateDescribeInstances,
  ReleaseAddressCommand,
  UnassignPrivateIpAddressesCommand,
  waitUntilNetworkInterfaceAvailable,
} from '@aws-sdk/client-ec2';
import { logger } from '../logger';

/**
 * The narrow EC2 port: only the calls eip-autopilot makes, in the SDK's own shapes. The reconciler depends on this,
 * never on EC2Client, so tests can count and fail calls precisely.
 */
export interface Ec2Port {
  /** One instance by id, or `undefined` when EC2 does not know it (filter form: no NotFound error). */
  describeInstance(instanceId: string): Promise<Instance | undefined>;
  /** Pages of instances matching `filters` (1000 per call). */
  describeInstancePages(filters: Filter[]): AsyncIterable<Instance[]>;
  /** Elastic IPs matching `filters` (DescribeAddresses is not paginated). */
  describeAddresses(filters?: Filter[]): Promise<Address[]>;
  describeInstanceType(instanceType: string): Promise<InstanceTypeInfo | undefined>;
  /**
   * ENIs matching `filters`. EC2 filters each page after reading it, so pages can come back empty with a NextToken:
   * tokens are followed, at most {@link ENI_PAGES} pages of 1000 (what lies beyond is left for a later run).
   */
  describeNetworkInterfaces(filters: Filter[]): Promise<NetworkInterface[]>;
  /** The account's `vpc-max-elastic-ips` quota. */
  describeEipQuota(): Promise<number>;
  allocateAddress(input: AllocateAddressCommandInput): Promise<{ allocationId: string; publicIp: string }>;
  associateAddress(input: AssociateAddressCommandInput): Promise<{ associationId: string }>;
  disassociateAddress(associationId: string): Promise<void>;
  releaseAddress(allocationId: string): Promise<void>;
  assignPrivateIpAddresses(input: AssignPrivateIpAddressesCommandInput): Promise<string[]>;
  unassignPrivateIpAddresses(networkInterfaceId: string, privateIps: string[]): Promise<void>;
  createNetworkInterface(input: CreateNetworkInterfaceCommandInput): Promise<NetworkInterface>;
  attachNetworkInterface(input: AttachNetworkInterfaceCommandInput): Promise<string>;
  setDeleteOnTermination(networkInterfaceId: string, attachmentId: string): Promise<void>;
  detachNetworkInterface(attachmentId: string): Promise<void>;
  waitNetworkInterfaceAvailable(networkInterfaceId: string): Promise<void>;
  deleteNetworkInterface(networkInterfaceId: string): Promise<void>;
  createTags(input: CreateTagsCommandInput): Promise<void>;
  deleteTags(input: DeleteTagsCommandInput): Promise<void>;
}

/** Pages of a filtered DescribeNetworkInterfaces followed at most (1000 ENIs scanned each). */
export const ENI_PAGES = 10;

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`EC2 response lacks ${what}`);
  return value;
}

/** The SDK adapter behind {@link Ec2Port}. */
export function ec2Adapter(client: EC2Client): Ec2Port {
  return {
    async describeInstance(instanceId) {
      // The filter form answers "no such instance" with an empty list; InstanceIds would throw NotFound, which
      // also means "not visible yet" right after launch.
      const out = await client.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [instanceId] }] }),
      );
      return out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    },
    async *describeInstancePages(filters) {
      for await (const page of paginateDescribeInstances(
        { client, pageSize: 1000 },
        { Filters: filters, MaxResults: 1000 },
      )) {
        yield page.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
      }
    },
    async describeAddresses(filters) {
      const out = await client.send(new DescribeAddressesCommand(filters ? { Filters: filters } : {}));
      return out.Addresses ?? [];
    },
    async describeInstanceType(instanceType) {
      const out = await client.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] }));
      return out.InstanceTypes?.[0];
    },
    async describeNetworkInterfaces(filters) {
      const found: NetworkInterface[] = [];
      let NextToken: string | undefined;
      for (let page = 0; page < ENI_PAGES; page++) {
        const out = await client.send(
          new DescribeNetworkInterfacesCommand({
            Filters: filters,
            MaxResults: 1000,
            ...(NextToken ? { NextToken } : {}),
          }),
        );
        found.push(...(out.NetworkInterfaces ?? []));
        NextToken = out.NextToken;
        if (!NextToken) return found;
      }
      logger.warn('describe stopped', { action: 'DescribeNetworkInterfaces', pages: ENI_PAGES, why: 'page bound' });
      return found;
    },
    async describeEipQuota() {
      const out = await client.send(
        // The SDK's AccountAttributeName enum lists only supported-platforms/default-vpc, but the API accepts every
        // attribute name it returns, including vpc-max-elastic-ips.
        new DescribeAccountAttributesCommand({ AttributeNames: ['vpc-max-elastic-ips' as AccountAttributeName] }),
      );
      const value = out.AccountAttributes?.[0]?.AttributeValues?.[0]?.AttributeValue;
      const quota = Number(value);
      if (!Number.isInteger(quota)) throw new Error(`vpc-max-elastic-ips is not a number: ${value}`);
      return quota;
    },
    async allocateAddress(input) {
      const out = await client.send(new AllocateAddressCommand(input));
      return {
        allocationId: required(out.AllocationId, 'AllocationId'),
        publicIp: required(out.PublicIp, 'PublicIp'),
      };
    },
    async associateAddress(input) {
      const out = await client.send(new AssociateAddressCommand(input));
      return { associationId: required(out.AssociationId, 'AssociationId') };
    },
    async disassociateAddress(associationId) {
      await client.send(new DisassociateAddressCommand({ AssociationId: associationId }));
    },
    async releaseAddress(allocationId) {
      await client.send(new ReleaseAddressCommand({ AllocationId: allocationId }));
    },
    async assignPrivateIpAddresses(input) {
      const out = await client.send(new AssignPrivateIpAddressesCommand(input));
      return (out.AssignedPrivateIpAddresses ?? []).flatMap((a) => (a.PrivateIpAddress ? [a.PrivateIpAddress] : []));
    },
    async unassignPrivateIpAddresses(networkInterfaceId, privateIps) {
      await client.send(
        new UnassignPrivateIpAddressesCommand({
          NetworkInterfaceId: networkInterfaceId,
          PrivateIpAddresses: privateIps,
        }),
      );
    },
    async createNetworkInterface(input) {
      const out = await client.send(new CreateNetworkInterfaceCommand(input));
      return required(out.NetworkInterface, 'NetworkInterface');
    },
    async attachNetworkInterface(input) {
      const out = await client.send(new AttachNetworkInterfaceCommand(input));
      return required(out.AttachmentId, 'AttachmentId');
    },
    async setDeleteOnTermination(networkInterfaceId, attachmentId) {
      await client.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: networkInterfaceId,
          Attachment: { AttachmentId: attachmentId, DeleteOnTermination: true },
        }),
      );
    },
    async detachNetworkInterface(attachmentId) {
      await client.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }));
    },
    async waitNetworkInterfaceAvailable(networkInterfaceId) {
      await waitUntilNetworkInterfaceAvailable(
        { client, maxWaitTime: 60, minDelay: 2, maxDelay: 5 },
        { NetworkInterfaceIds: [networkInterfaceId] },
      );
    },
    async deleteNetworkInterface(networkInterfaceId) {
      await client.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: networkInterfaceId }));
    },
    async createTags(input) {
      await client.send(new CreateTagsCommand(input));
    },
    async deleteTags(input) {
      await client.send(new DeleteTagsCommand(input));
    },
  };
}
