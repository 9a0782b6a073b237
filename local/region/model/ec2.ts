/**
 * The EC2 half of the region, one file per section under ./ec2/: records.ts (records, validation), state.ts (the
 * shared state and lookups), time.ts (state transitions), shapes.ts (output shapes), readers.ts (filters), and the
 * actions in instances.ts, tags.ts, enis.ts and addresses.ts. This class is the facade the region dispatches to.
 */
import type {
  AllocateAddressRequest,
  AllocateAddressResult,
  AssignPrivateIpAddressesRequest,
  AssignPrivateIpAddressesResult,
  AssociateAddressRequest,
  AssociateAddressResult,
  AttachNetworkInterfaceRequest,
  AttachNetworkInterfaceResult,
  CreateNetworkInterfaceRequest,
  CreateNetworkInterfaceResult,
  CreateTagsRequest,
  DeleteNetworkInterfaceRequest,
  DeleteTagsRequest,
  DescribeAccountAttributesRequest,
  DescribeAccountAttributesResult,
  DescribeAddressesRequest,
  DescribeAddressesResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeInstanceTypesRequest,
  DescribeInstanceTypesResult,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  DetachNetworkInterfaceRequest,
  DisassociateAddressRequest,
  InstanceStateName,
  ModifyNetworkInterfaceAttributeRequest,
  ReleaseAddressRequest,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
  UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import * as time from './ec2/time';
import * as instances from './ec2/instances';
import * as tags from './ec2/tags';
import * as enis from './ec2/enis';
import * as addresses from './ec2/addresses';
import type { RegionContext } from './context';
import type { Ec2Change, Ec2Options, GuestNetwork } from './ec2/records';
import { Ec2State } from './ec2/state';

export type { Ec2Change, Ec2Options, GuestEni, GuestNetwork } from './ec2/records';

/**
 * The EC2 half of the region: instances, ENIs, private IPs and Elastic IPs with the semantics of
 * docs/aws-facts.md. Every
 * public method is an EC2 action taking and returning the SDK's shapes; validation happens before any mutation, so
 * a refused call changes nothing (AWS calls are all-or-nothing).
 */
export class Ec2Model {
  private readonly s: Ec2State;

  constructor(ctx: RegionContext, opts: Ec2Options) {
    this.s = new Ec2State(ctx, opts);
  }

  get vpcId(): string {
    return this.s.vpcId;
  }

  get defaultSubnetId(): string {
    return this.s.defaultSubnetId;
  }

  get defaultGroupId(): string {
    return this.s.defaultGroupId;
  }

  /** Subnets of the VPC (with their owner account), for the lab, the demo and IAM (no DescribeSubnets action yet). */
  subnetList(): ReturnType<Ec2State['subnetList']> {
    return this.s.subnetList();
  }

  /** Security groups of the VPC with their owner account, for IAM (no DescribeSecurityGroups action yet). */
  securityGroupList(): ReturnType<Ec2State['securityGroupList']> {
    return this.s.securityGroupList();
  }

  /** Subscribes to internal changes (associations, ENI changes) — used by the lab to update NAT and IMDS. */
  onChange(listener: (change: Ec2Change) => void): () => void {
    return this.s.onChange(listener);
  }

  /** Clock time of the next scheduled state transition, undefined when none is pending (lets a driver skip ahead). */
  nextTransitionAt(): number | undefined {
    return time.nextTransitionAt(this.s);
  }

  /** Applies every transition that is due at the current clock. */
  settle(): void {
    time.settle(this.s);
  }

  /** True when the instance is running and its SSM agent would have had time to register. */
  runningSince(instanceId: string): number | undefined {
    return time.runningSince(this.s, instanceId);
  }

  /**
   * The instance's network as its metadata service shows it: what the VPC lab applies to the guest (NICs, IMDS,
   * 1:1 NAT). Undefined for an unknown instance.
   */
  guestNetwork(instanceId: string): GuestNetwork | undefined {
    return time.guestNetwork(this.s, instanceId);
  }

  /** Longest time the instance has been running in one stretch, the current one included (0 if never). */
  longestRun(instanceId: string): number {
    return time.longestRun(this.s, instanceId);
  }

  /** Current state name of an instance, undefined once it is gone. */
  state(instanceId: string): InstanceStateName | undefined {
    return time.state(this.s, instanceId);
  }

  /** Primary private IP of an instance (for SSM's DescribeInstanceInformation). */
  primaryIp(instanceId: string): string | undefined {
    return time.primaryIp(this.s, instanceId);
  }

  /** Every instance id known (including recently terminated), in launch order. */
  instanceIds(): string[] {
    return time.instanceIds(this.s);
  }

  RunInstances(input: RunInstancesRequest): Reservation {
    return instances.RunInstances(this.s, input);
  }

  DescribeInstances(input: DescribeInstancesRequest): DescribeInstancesResult {
    return instances.DescribeInstances(this.s, input);
  }

  TerminateInstances(input: TerminateInstancesRequest): TerminateInstancesResult {
    return instances.TerminateInstances(this.s, input);
  }

  StopInstances(input: StopInstancesRequest): StopInstancesResult {
    return instances.StopInstances(this.s, input);
  }

  StartInstances(input: StartInstancesRequest): StartInstancesResult {
    return instances.StartInstances(this.s, input);
  }

  DescribeInstanceTypes(input: DescribeInstanceTypesRequest): DescribeInstanceTypesResult {
    return instances.DescribeInstanceTypes(this.s, input);
  }

  DescribeAccountAttributes(input: DescribeAccountAttributesRequest): DescribeAccountAttributesResult {
    return instances.DescribeAccountAttributes(this.s, input);
  }

  CreateTags(input: CreateTagsRequest): Record<string, never> {
    return tags.CreateTags(this.s, input);
  }

  DeleteTags(input: DeleteTagsRequest): Record<string, never> {
    return tags.DeleteTags(this.s, input);
  }

  DescribeNetworkInterfaces(input: DescribeNetworkInterfacesRequest): DescribeNetworkInterfacesResult {
    return enis.DescribeNetworkInterfaces(this.s, input);
  }

  CreateNetworkInterface(input: CreateNetworkInterfaceRequest): CreateNetworkInterfaceResult {
    return enis.CreateNetworkInterface(this.s, input);
  }

  AttachNetworkInterface(input: AttachNetworkInterfaceRequest): AttachNetworkInterfaceResult {
    return enis.AttachNetworkInterface(this.s, input);
  }

  DetachNetworkInterface(input: DetachNetworkInterfaceRequest): Record<string, never> {
    return enis.DetachNetworkInterface(this.s, input);
  }

  DeleteNetworkInterface(input: DeleteNetworkInterfaceRequest): Record<string, never> {
    return enis.DeleteNetworkInterface(this.s, input);
  }

  ModifyNetworkInterfaceAttribute(input: ModifyNetworkInterfaceAttributeRequest): Record<string, never> {
    return enis.ModifyNetworkInterfaceAttribute(this.s, input);
  }

  AssignPrivateIpAddresses(input: AssignPrivateIpAddressesRequest): AssignPrivateIpAddressesResult {
    return enis.AssignPrivateIpAddresses(this.s, input);
  }

  UnassignPrivateIpAddresses(input: UnassignPrivateIpAddressesRequest): Record<string, never> {
    return enis.UnassignPrivateIpAddresses(this.s, input);
  }

  AllocateAddress(input: AllocateAddressRequest): AllocateAddressResult {
    return addresses.AllocateAddress(this.s, input);
  }

  AssociateAddress(input: AssociateAddressRequest): AssociateAddressResult {
    return addresses.AssociateAddress(this.s, input);
  }

  DisassociateAddress(input: DisassociateAddressRequest): Record<string, never> {
    return addresses.DisassociateAddress(this.s, input);
  }

  ReleaseAddress(input: ReleaseAddressRequest): Record<string, never> {
    return addresses.ReleaseAddress(this.s, input);
  }

  DescribeAddresses(input: DescribeAddressesRequest): DescribeAddressesResult {
    return addresses.DescribeAddresses(this.s, input);
  }
}
