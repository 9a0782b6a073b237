/**
 * IAM over the wire: the local deployment with enforcement on (its default), the functions' roles read from the
 * packaged template. The functions converge an instance with every call allowed; the calls issue 10 lists as unsafe,
 * signed with the reconcile function's own key, are refused with the error AWS answers.
 */
import * as ec2 from '@aws-sdk/client-ec2';
import * as sqs from '@aws-sdk/client-sqs';
import * as ssm from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '#local/deployment';
import { accessKeyFor, decodeAuthorizationMessage } from '#local/region/iam/evaluator';

const MANAGED = [{ Key: 'eip-autopilot:managed', Value: 'true' }];

describe('IAM: the functions under their packaged roles', () => {
  let d: Deployment;
  let instanceId: string;
  let asReconcile: { ec2: ec2.EC2Client; ssm: ssm.SSMClient; sqs: sqs.SQSClient };

  beforeAll(async () => {
    d = await startDeployment({ guests: 'none' });
    const signedAs = (functionKey: string) => ({
      endpoint: d.server.url,
      region: d.region.regionName,
      credentials: { accessKeyId: accessKeyFor(functionKey), secretAccessKey: 'local-function-secret' },
      maxAttempts: 1,
    });
    asReconcile = {
      ec2: new ec2.EC2Client(signedAs('reconcile')),
      ssm: new ssm.SSMClient(signedAs('reconcile')),
      sqs: new sqs.SQSClient(signedAs('intake')),
    };
    instanceId = await d.launch('t3.micro', { 'eip-count': '3' });
    await d.settle(async () => (await d.statusOf(instanceId)) === 'ok 3/3', { what: 'ok 3/3' });
  });
  afterAll(async () => {
    for (const c of Object.values(asReconcile ?? {})) c.destroy();
    await d?.close();
  });

  it('lets each function make its calls: every call evaluated, none refused', () => {
    const decisions = d.iam?.decisions ?? [];
    expect(decisions.filter((x) => !x.allowed)).toEqual([]);
    expect(new Set(decisions.map((x) => x.functionKey))).toEqual(new Set(['intake', 'reconcile', 'commandStatus']));
    // The reconcile of a fresh t3.micro to 3 EIPs writes: assign, create ENI, attach, modify, allocate, associate…
    const writes = decisions.filter(
      (x) => x.functionKey === 'reconcile' && x.service !== 'sqs' && !x.action.startsWith('Describe'),
    );
    expect(new Set(writes.map((x) => x.action))).toEqual(
      new Set([
        'AssignPrivateIpAddresses',
        'CreateNetworkInterface',
        'AttachNetworkInterface',
        'ModifyNetworkInterfaceAttribute',
        'AllocateAddress',
        'AssociateAddress',
        'CreateTags',
        'SendCommand',
      ]),
    );
    expect(d.region.calls.filter((c) => !c.ok)).toEqual([]);
    // Lambda's poller uses reconcile's role too: checked once at start, like CreateEventSourceMapping.
    expect(decisions.filter((x) => x.service === 'sqs').map((x) => `${x.functionKey} ${x.action}`)).toEqual(
      expect.arrayContaining(['reconcile ReceiveMessage', 'reconcile DeleteMessage', 'reconcile GetQueueAttributes']),
    );
  });

  const refusedEc2 = async (call: Promise<unknown>, action: string, resource: RegExp) => {
    const e = (await call.then(
      () => undefined,
      (x: unknown) => x,
    )) as { name: string; message: string; $metadata: { httpStatusCode: number } } | undefined;
    expect(e?.name).toBe('UnauthorizedOperation');
    expect(e?.$metadata.httpStatusCode).toBe(403);
    const encoded = e?.message.split('Encoded authorization failure message: ')[1] ?? '';
    const decoded = decodeAuthorizationMessage(encoded);
    expect(decoded.context.action).toBe(`ec2:${action}`);
    expect(decoded.context.resource).toMatch(resource);
    expect(decoded.context.principal.arn).toMatch(
      /:assumed-role\/eip-autopilot-dev-ReconcileRole-.+\/eip-autopilot-dev-reconcile$/,
    );
  };

  it('refuses releasing a foreign EIP', async () => {
    const foreign = await d.ec2.send(new ec2.AllocateAddressCommand({ Domain: 'vpc' }));
    await refusedEc2(
      asReconcile.ec2.send(new ec2.ReleaseAddressCommand({ AllocationId: foreign.AllocationId })),
      'ReleaseAddress',
      new RegExp(`:elastic-ip/${foreign.AllocationId}$`),
    );
    expect((await d.ec2.send(new ec2.DescribeAddressesCommand({}))).Addresses).toContainEqual(
      expect.objectContaining({ AllocationId: foreign.AllocationId }),
    );
  });

  it("refuses deleting and detaching the user's own (untagged) ENI", async () => {
    // An instance of the user's with room for one more ENI (m5.large: 3), and the user's own ENI on it.
    const other = await d.launch('m5.large');
    await d.settle(
      async () =>
        (await d.ec2.send(new ec2.DescribeInstancesCommand({ InstanceIds: [other] }))).Reservations?.[0]?.Instances?.[0]
          ?.State?.Name === 'running',
    );
    const subnetId = d.region.subnets()[0]?.SubnetId;
    const user = await d.ec2.send(new ec2.CreateNetworkInterfaceCommand({ SubnetId: subnetId }));
    const eniId = user.NetworkInterface?.NetworkInterfaceId ?? '';
    await refusedEc2(
      asReconcile.ec2.send(new ec2.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId })),
      'DeleteNetworkInterface',
      new RegExp(`:network-interface/${eniId}$`),
    );
    const attached = await d.ec2.send(
      new ec2.AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: other, DeviceIndex: 1 }),
    );
    await refusedEc2(
      asReconcile.ec2.send(new ec2.DetachNetworkInterfaceCommand({ AttachmentId: attached.AttachmentId })),
      'DetachNetworkInterface',
      new RegExp(`:network-interface/${eniId}$`),
    );
  });

  it('refuses tagging an instance with any key but the status key', async () => {
    await refusedEc2(
      asReconcile.ec2.send(
        new ec2.CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'eip-count', Value: '9' }] }),
      ),
      'CreateTags',
      new RegExp(`:instance/${instanceId}$`),
    );
  });

  it('refuses AllocateAddress without the managed tag', async () => {
    await refusedEc2(
      asReconcile.ec2.send(new ec2.AllocateAddressCommand({ Domain: 'vpc' })),
      'AllocateAddress',
      /:elastic-ip\/\*$/,
    );
    // With it, the same call is allowed (and the address is ours to release).
    const ok = await asReconcile.ec2.send(
      new ec2.AllocateAddressCommand({
        Domain: 'vpc',
        TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: MANAGED }],
      }),
    );
    await asReconcile.ec2.send(new ec2.ReleaseAddressCommand({ AllocationId: ok.AllocationId }));
  });

  it('refuses SendCommand to an instance without our tags, and of another document', async () => {
    const untagged = await d.launch('t3.micro');
    await d.settle(
      async () =>
        (await d.region.ec2('DescribeInstances', { InstanceIds: [untagged] })).Reservations?.[0]?.Instances?.[0]?.State
          ?.Name === 'running',
    );
    const refused = (input: ssm.SendCommandCommandInput) =>
      expect(asReconcile.ssm.send(new ssm.SendCommandCommand(input))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringMatching(/is not authorized to perform: ssm:SendCommand on resource: arn:aws:/),
        $metadata: { httpStatusCode: 400 },
      });
    await refused({ DocumentName: d.env.GUEST_DOCUMENT_NAME, InstanceIds: [untagged] });
    await d.region.ssm('CreateDocument', {
      Name: 'users-maintenance',
      Content: JSON.stringify({
        schemaVersion: '2.2',
        mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: ['id'] } }],
      }),
    });
    await refused({ DocumentName: 'users-maintenance', InstanceIds: [instanceId] });
  });

  it('lets reconcile hand a throttled job back early (ChangeMessageVisibility on the job queue)', async () => {
    const asFunction = new sqs.SQSClient({
      endpoint: d.server.url,
      region: d.region.regionName,
      credentials: { accessKeyId: accessKeyFor('reconcile'), secretAccessKey: 'local-function-secret' },
      maxAttempts: 1,
    });
    try {
      // Allowed by IAM; the queue then refuses the made-up receipt handle, which is all this call can reach here.
      const e = await asFunction
        .send(
          new sqs.ChangeMessageVisibilityCommand({ QueueUrl: d.jobs.url, ReceiptHandle: 'x', VisibilityTimeout: 30 }),
        )
        .then(
          () => undefined,
          (x: unknown) => x as { name: string },
        );
      expect(e?.name).not.toBe('AccessDeniedException');
      expect(d.iam?.decisions.at(-1)).toMatchObject({ functionKey: 'reconcile', action: 'ChangeMessageVisibility' });
      expect(d.iam?.decisions.at(-1)?.allowed).toBe(true);
    } finally {
      asFunction.destroy();
    }
  });

  it('refuses an SQS call the role does not grant (intake may only send)', async () => {
    await expect(asReconcile.sqs.send(new sqs.ReceiveMessageCommand({ QueueUrl: d.jobs.url }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});
