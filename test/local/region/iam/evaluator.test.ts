import { beforeAll, describe, expect, it } from 'vitest';
import { accessDenied, accessKeyFor, decodeAuthorizationMessage, IamEvaluator } from '#local/region/iam/evaluator';
import { functionRoles } from '#local/region/iam/policies';
import type { ResourceFacts, Tags } from '#local/region/iam/requests';
import { packageStack } from '#local/stack/package';

// The roles as `npm run package` writes them, evaluated against a small fixed world. The same cases run over the
// wire, with the real handlers, in test/local/region/iam/enforcement.test.ts.
const ACCOUNT = '123456789012';
const VPC_OWNER = '210987654321';
const MANAGED = { 'eip-autopilot:managed': 'true' };

const world = {
  instances: {
    'i-tagged': { tags: { 'eip-count': '2' } },
    'i-managed': { tags: { 'eip-autopilot:status': 'ok 1/1' } },
    'i-foreign': { tags: { Name: 'web' } },
  } as Record<string, { tags: Tags }>,
  addresses: <{ allocationId: string; publicIp: string; tags: Tags; associationId?: string }[]>[
    { allocationId: 'eipalloc-owned', publicIp: '198.51.100.1', tags: MANAGED, associationId: 'eipassoc-owned' },
    { allocationId: 'eipalloc-foreign', publicIp: '198.51.100.2', tags: {}, associationId: 'eipassoc-foreign' },
    { allocationId: 'eipalloc-pool', publicIp: '198.51.100.3', tags: { 'eip-autopilot:pool': 'web' } },
  ],
  enis: {
    'eni-primary': { tags: {}, subnetId: 'subnet-own', instanceId: 'i-tagged', attachmentId: 'eni-attach-primary' },
    'eni-owned': { tags: MANAGED, subnetId: 'subnet-own', instanceId: 'i-tagged', attachmentId: 'eni-attach-owned' },
    'eni-user': { tags: {}, subnetId: 'subnet-own', instanceId: 'i-tagged', attachmentId: 'eni-attach-user' },
  } as Record<string, { tags: Tags; subnetId: string; instanceId: string; attachmentId: string }>,
  subnets: {
    'subnet-own': { ownerId: ACCOUNT, vpcId: 'vpc-own' },
    'subnet-shared': { ownerId: VPC_OWNER, vpcId: 'vpc-shared' },
  } as Record<string, { ownerId: string; vpcId: string }>,
  groups: {
    'sg-own': { ownerId: ACCOUNT, vpcId: 'vpc-own' },
    'sg-shared': { ownerId: VPC_OWNER, vpcId: 'vpc-shared' },
  } as Record<string, { ownerId: string; vpcId: string }>,
};

const facts: ResourceFacts = {
  accountId: ACCOUNT,
  region: 'us-east-1',
  instance: (id) => world.instances[id],
  address: (by) => {
    const a = world.addresses.find(
      (x) => x.allocationId === by.allocationId || x.publicIp === by.publicIp || x.associationId === by.associationId,
    );
    const eni = a?.associationId ? 'eni-primary' : undefined;
    return a && { ...a, networkInterfaceId: eni, instanceId: eni ? 'i-tagged' : undefined };
  },
  networkInterface: (id) => {
    const e = world.enis[id];
    return e && { ...e, groups: ['sg-own'] };
  },
  attachment: (attachmentId) => {
    const entry = Object.entries(world.enis).find(([, e]) => e.attachmentId === attachmentId);
    return entry && { networkInterfaceId: entry[0], instanceId: entry[1].instanceId };
  },
  subnet: (id) => {
    const s = world.subnets[id];
    return s && { ...s, availabilityZone: 'us-east-1a' };
  },
  securityGroup: (id) => world.groups[id],
  document: (name) => (name === 'eip-autopilot-guest-sync' ? { ownerId: ACCOUNT, tags: {} } : undefined),
};

let iam: IamEvaluator;
beforeAll(() => {
  const template = packageStack().template;
  iam = new IamEvaluator(functionRoles(template, { accountId: ACCOUNT, region: 'us-east-1', stackName: 'x' }), facts);
});

const reconcile = accessKeyFor('reconcile');
const tagSpec = (type: string, tags: Tags) => [
  { ResourceType: type, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
];

describe('IAM evaluation of the packaged roles', () => {
  // What the reconciler does: each allowed, so that enforcement costs nothing on the paths that work.
  it.each([
    ['AllocateAddress', { Domain: 'vpc', TagSpecifications: tagSpec('elastic-ip', MANAGED) }],
    ['ReleaseAddress', { AllocationId: 'eipalloc-owned' }],
    ['AssociateAddress', { AllocationId: 'eipalloc-owned', NetworkInterfaceId: 'eni-primary', PrivateIpAddress: 'x' }],
    ['AssociateAddress', { AllocationId: 'eipalloc-pool', NetworkInterfaceId: 'eni-owned', PrivateIpAddress: 'x' }],
    ['DisassociateAddress', { AssociationId: 'eipassoc-owned' }],
    [
      'CreateNetworkInterface',
      { SubnetId: 'subnet-own', Groups: ['sg-own'], TagSpecifications: tagSpec('network-interface', MANAGED) },
    ],
    ['AttachNetworkInterface', { NetworkInterfaceId: 'eni-owned', InstanceId: 'i-tagged', DeviceIndex: 1 }],
    ['DetachNetworkInterface', { AttachmentId: 'eni-attach-owned' }],
    ['DeleteNetworkInterface', { NetworkInterfaceId: 'eni-owned' }],
    ['AssignPrivateIpAddresses', { NetworkInterfaceId: 'eni-primary', SecondaryPrivateIpAddressCount: 1 }],
    ['CreateTags', { Resources: ['i-tagged'], Tags: [{ Key: 'eip-autopilot:status', Value: 'ok 2/2' }] }],
    ['CreateTags', { Resources: ['eipalloc-pool'], Tags: [{ Key: 'eip-autopilot:instance-id', Value: 'i-tagged' }] }],
    ['DescribeInstances', {}],
  ])('reconcile may %s (%j)', async (action, input) => {
    expect(await iam.evaluate(reconcile, 'ec2', action, input)).toBeUndefined();
  });

  it('reconcile may run the guest document on a count-tagged or status-tagged instance', async () => {
    for (const id of ['i-tagged', 'i-managed']) {
      const input = { DocumentName: 'eip-autopilot-guest-sync', InstanceIds: [id] };
      expect(await iam.evaluate(reconcile, 'ssm', 'SendCommand', input)).toBeUndefined();
    }
  });

  // The unsafe calls, each refused on the resource that makes it unsafe.
  it.each([
    ['releasing a foreign EIP', 'ReleaseAddress', { AllocationId: 'eipalloc-foreign' }, 'elastic-ip/eipalloc-foreign'],
    ['releasing a pool EIP', 'ReleaseAddress', { AllocationId: 'eipalloc-pool' }, 'elastic-ip/eipalloc-pool'],
    [
      "deleting the user's own (untagged) ENI",
      'DeleteNetworkInterface',
      { NetworkInterfaceId: 'eni-user' },
      'network-interface/eni-user',
    ],
    [
      "detaching the user's own (untagged) ENI",
      'DetachNetworkInterface',
      { AttachmentId: 'eni-attach-user' },
      'network-interface/eni-user',
    ],
    [
      'tagging an instance with a key other than the status key',
      'CreateTags',
      { Resources: ['i-tagged'], Tags: [{ Key: 'eip-count', Value: '9' }] },
      'instance/i-tagged',
    ],
    [
      'tagging an instance with the status key and another',
      'CreateTags',
      {
        Resources: ['i-tagged'],
        Tags: [
          { Key: 'eip-autopilot:status', Value: 'ok' },
          { Key: 'Name', Value: 'x' },
        ],
      },
      'instance/i-tagged',
    ],
    [
      'AllocateAddress without the managed tag',
      'AllocateAddress',
      { Domain: 'vpc', TagSpecifications: tagSpec('elastic-ip', { 'eip-autopilot:instance-id': 'i-tagged' }) },
      'elastic-ip/*',
    ],
    [
      'associating a foreign EIP',
      'AssociateAddress',
      { AllocationId: 'eipalloc-foreign', NetworkInterfaceId: 'eni-primary', PrivateIpAddress: 'x' },
      'elastic-ip/eipalloc-foreign',
    ],
    [
      'attaching our ENI to an instance without the count tag',
      'AttachNetworkInterface',
      { NetworkInterfaceId: 'eni-owned', InstanceId: 'i-managed', DeviceIndex: 1 },
      'instance/i-managed',
    ],
    [
      'associating our EIP with an instance without the count tag',
      'AssociateAddress',
      { AllocationId: 'eipalloc-owned', InstanceId: 'i-foreign' },
      'instance/i-foreign',
    ],
    [
      'disassociating a foreign EIP',
      'DisassociateAddress',
      { AssociationId: 'eipassoc-foreign' },
      'elastic-ip/eipalloc-foreign',
    ],
  ])('reconcile is refused %s', async (_, action, input, resource) => {
    const denial = await iam.evaluate(reconcile, 'ec2', action, input);
    expect(denial).toMatchObject({ action: `ec2:${action}`, kind: 'implicit' });
    expect(denial?.resource).toBe(`arn:aws:ec2:us-east-1:${ACCOUNT}:${resource}`);
  });

  it.each([
    ['to an instance without our tags', { DocumentName: 'eip-autopilot-guest-sync', InstanceIds: ['i-foreign'] }],
    ['of another document', { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-tagged'] }],
  ])('reconcile is refused SendCommand %s', async (_, input) => {
    expect(await iam.evaluate(reconcile, 'ssm', 'SendCommand', input)).toMatchObject({ action: 'ssm:SendCommand' });
  });

  it('CreateNetworkInterface in a subnet another account shares with us (shared VPC) is allowed', async () => {
    const input = {
      SubnetId: 'subnet-shared',
      Groups: ['sg-shared'],
      TagSpecifications: tagSpec('network-interface', MANAGED),
    };
    expect(await iam.evaluate(reconcile, 'ec2', 'CreateNetworkInterface', input)).toBeUndefined();
  });

  it(
    'authorizes every resource of a call: a managed EIP on an untagged instance is still checked on the ' + 'ENI',
    async () => {
      // AttachNetworkInterface of the user's ENI to a count-tagged instance: the instance side allows it, the ENI not.
      const denial = await iam.evaluate(reconcile, 'ec2', 'AttachNetworkInterface', {
        NetworkInterfaceId: 'eni-user',
        InstanceId: 'i-tagged',
        DeviceIndex: 2,
      });
      expect(denial?.resource).toBe(`arn:aws:ec2:us-east-1:${ACCOUNT}:network-interface/eni-user`);
    },
  );

  it('gives each function only its own role', async () => {
    const release = { AllocationId: 'eipalloc-owned' };
    expect(await iam.evaluate(accessKeyFor('sweep'), 'ec2', 'ReleaseAddress', release)).toMatchObject({
      principal: expect.stringMatching(/:assumed-role\/x-SweepRole-[^/]+\/eip-autopilot-dev-sweep$/),
    });
    const queue = { QueueUrl: `http://127.0.0.1:1/${ACCOUNT}/eip-autopilot-dev-jobs.fifo` };
    expect(await iam.evaluate(accessKeyFor('intake'), 'sqs', 'SendMessageBatch', queue)).toBeUndefined();
    expect(await iam.evaluate(accessKeyFor('intake'), 'sqs', 'DeleteMessage', queue)).toMatchObject({
      action: 'sqs:DeleteMessage',
    });
    const send = { DocumentName: 'eip-autopilot-guest-sync', InstanceIds: ['i-tagged'] };
    expect(await iam.evaluate(accessKeyFor('commandStatus'), 'ssm', 'SendCommand', send)).toBeDefined();
  });

  it(
    "does not evaluate the account owner's own keys, and refuses a function key the template does not " + 'have',
    async () => {
      expect(await iam.evaluate('AKIDLOCALREGION', 'ec2', 'TerminateInstances', { InstanceIds: ['i-tagged'] })).toBe(
        undefined,
      );
      await expect(iam.evaluate(accessKeyFor('ghost'), 'ec2', 'DescribeInstances', {})).rejects.toMatchObject({
        name: 'InvalidClientTokenId',
      });
      await expect(iam.evaluate(undefined, 'ec2', 'DescribeInstances', {})).rejects.toMatchObject({
        name: 'MissingAuthenticationToken',
      });
    },
  );

  it(
    'answers a denial as AWS does: EC2 UnauthorizedOperation (403, encoded message), SSM ' + 'AccessDeniedException',
    async () => {
      const denial = await iam.evaluate(reconcile, 'ec2', 'ReleaseAddress', { AllocationId: 'eipalloc-foreign' });
      if (!denial) throw new Error('expected a denial');
      const ec2 = accessDenied('ec2', denial);
      expect(ec2).toMatchObject({ name: 'UnauthorizedOperation', statusCode: 403 });
      expect(ec2.message).toMatch(
        new RegExp(
          [
            String.raw`^You are not authorized to perform this operation\. `,
            'User: arn:aws:sts::123456789012:assumed-role/.+ ',
            'is not authorized to perform: ec2:ReleaseAddress ',
            'on resource: arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-foreign ',
            String.raw`because no identity-based policy allows the ec2:ReleaseAddress action\. `,
            'Encoded authorization failure message: ',
          ].join(''),
        ),
      );
      const encoded = ec2.message.split('Encoded authorization failure message: ')[1] ?? '';
      expect(decodeAuthorizationMessage(encoded)).toMatchObject({
        allowed: false,
        explicitDeny: false,
        context: { action: 'ec2:ReleaseAddress', resource: denial.resource },
      });
      expect(accessDenied('ssm', denial)).toMatchObject({ name: 'AccessDeniedException', statusCode: 400 });
    },
  );

  it('records every evaluated call', async () => {
    const before = iam.decisions.length;
    await iam.evaluate(reconcile, 'ec2', 'DescribeInstances', {});
    expect(iam.decisions.slice(before)).toEqual([
      { functionKey: 'reconcile', service: 'ec2', action: 'DescribeInstances', checks: 1, allowed: true },
    ]);
  });
});
