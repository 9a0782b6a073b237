import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { enforceIam } from '#local/region/iam/enforce';
import { accessKeyFor, IamEvaluator } from '#local/region/iam/evaluator';
import { regionFacts } from '#local/region/iam/facts';
import { functionRoles } from '#local/region/iam/policies';
import { createRegion } from '#local/region/model/index';
import { startRegionServer } from '#local/region/server';
import { FifoQueue, LocalSqs } from '#local/sqs-fifo';
import { type CfnTemplate, packageStack, STACK_ROOT } from '#local/stack/package';
import { readZip, type ZipEntry } from '#local/stack/zip';
import { parse } from 'yaml';
import { context } from '../helpers/lambda';

const HANDLERS: Record<string, string> = {
  intake: 'functions/intake/handler.mjs',
  reconcile: 'functions/reconcile/handler.mjs',
  sweep: 'functions/sweep/handler.mjs',
  commandStatus: 'functions/command-status/handler.mjs',
};

let zips: Record<string, ZipEntry[]>;
let template: CfnTemplate;

beforeAll(() => {
  const packaged = packageStack();
  template = packaged.template;
  zips = Object.fromEntries(Object.entries(packaged.zips).map(([name, path]) => [name, readZip(path)]));
});

describe('Function packages', () => {
  it('builds one zip per function', () => {
    expect(Object.keys(zips).sort()).toEqual(Object.keys(HANDLERS).sort());
  });

  it.each(Object.entries(HANDLERS))(
    '%s: holds only its own ESM bundle: no source map, no node_modules',
    (name, file) => {
      expect((zips[name] ?? []).map((e) => e.name)).toEqual([file]);
    },
  );

  it.each(Object.entries(HANDLERS))('%s: bundles the AWS SDK instead of importing the runtime copy', (name, file) => {
    const code =
      (zips[name] ?? [])
        .find((e) => e.name === file)
        ?.read()
        .toString('utf8') ?? '';
    expect(code.length).toBeGreaterThan(0);
    // Only Node built-ins may stay external, and the SDK's optional CRT signer (SigV4a only, which EC2, SSM and SQS
    // do not use; the SDK looks it up lazily and works without it).
    const imports = [
      ...code.matchAll(/\bfrom\s*"([@a-z][^"\s,=]*)"|\bimport\(\s*"([^"\s]+)"\)|\brequire\(\s*"([^"\s]+)"\)/g),
    ].map((m) => m[1] ?? m[2] ?? m[3]);
    for (const specifier of imports) expect(specifier).toMatch(/^node:[a-z_/]+$|^@aws-sdk\/signature-v4-crt$/);
    expect(imports).toContain('node:http');
  });

  // Each handler bundles only the clients it calls (src/deps.ts): intake must not pay for EC2's or SSM's client.
  it.each([
    ['intake', { EC2: false, SSM: false, SQS: true }],
    // reconcile: only ChangeMessageVisibility (a throttled job handed back early), never SendMessageBatch.
    ['reconcile', { EC2: true, SSM: true, SQS: true }],
    ['sweep', { EC2: true, SSM: true, SQS: true }],
    ['commandStatus', { EC2: true, SSM: false, SQS: false }],
  ])('%s: bundles exactly the SDK clients it uses', (name, expected) => {
    const file = HANDLERS[name] ?? '';
    const code =
      (zips[name] ?? [])
        .find((e) => e.name === file)
        ?.read()
        .toString('utf8') ?? '';
    // A command name of each client, as its serializer spells it in the bundle.
    const has = {
      EC2: code.includes('DescribeInstances'),
      SSM: code.includes('SendCommand'),
      SQS: code.includes('SendMessageBatch') || code.includes('ChangeMessageVisibility'),
    };
    expect(has).toEqual(expected);
    if (name === 'reconcile') expect(code.includes('SendMessageBatch')).toBe(false);
  });

  // infra/esbuild-plugins.cjs lets esbuild drop the schemas of calls we never make (they were ~55% of reconcile).
  it.each(['reconcile', 'sweep', 'commandStatus'])('%s: holds no schema of an EC2 call it never makes', (name) => {
    const code =
      (zips[name] ?? [])
        .find((e) => e.name === HANDLERS[name])
        ?.read()
        .toString('utf8') ?? '';
    expect(code).not.toContain('RunInstancesRequest');
    expect(code).not.toContain('AcceleratorCount');
  });
});

/** Writes a function's zip into a fresh directory; returns the directory. */
function unzip(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'eip-bundle-'));
  for (const entry of zips[name] ?? []) {
    mkdirSync(dirname(join(dir, entry.name)), { recursive: true });
    writeFileSync(join(dir, entry.name), entry.read());
  }
  return dir;
}

describe('Bundles for the nodejs24.x runtime', () => {
  it('builds for the Node major the functions run on (esbuild target = runtime)', () => {
    const sls = parse(readFileSync(join(STACK_ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
      provider: { runtime: string };
      custom: { esbuild: { target: string } };
    };
    expect(sls.provider.runtime).toBe('nodejs24.x');
    expect(sls.custom.esbuild.target).toBe('node24');
  });

  // Node 24's runtime refuses callback handlers at init (Runtime.CallbackHandlerDeprecated), and it tells them by
  // arity: a handler declaring three or more parameters is a callback handler, async or not.
  it.each(Object.entries(HANDLERS))('%s: exports an async (event, context) handler', async (name, file) => {
    const dir = unzip(name);
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        AWS_REGION: 'us-east-1',
        JOB_QUEUE_URL: 'http://127.0.0.1:9/000000000000/jobs.fifo',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      });
      const mod = (await import(pathToFileURL(join(dir, file)).href)) as { handler: unknown };
      expect(typeof mod.handler).toBe('function');
      expect((mod.handler as (...args: unknown[]) => unknown).length).toBeLessThan(3);
    } finally {
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Bundled reconcile handler (the zip as Lambda runs it)', () => {
  // The bundles are built with infra/esbuild-plugins.cjs rewriting the SDK's schema files: prove the result still
  // speaks EC2's query protocol and SSM's JSON protocol, over the wire, on every call a fresh reconcile makes, each
  // allowed by the reconcile role of the same packaged template (IAM enforced, local/region/iam/).
  it('converges a fresh instance against the local region over HTTP, under its packaged role', async () => {
    const region = createRegion({ eipQuota: 50 });
    const sqs = new LocalSqs();
    const target = { accountId: region.accountId, region: region.regionName, stackName: 'eip-autopilot-dev' };
    const iam = new IamEvaluator(functionRoles(template, target), regionFacts(region));
    const server = await startRegionServer({ region, sqs, authorizeSqs: enforceIam(region, iam) });
    const queue = sqs.add(new FifoQueue({ name: 'jobs.fifo', url: server.queueUrl('jobs.fifo') }));
    const dir = unzip('reconcile');
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        AWS_ENDPOINT_URL: server.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: accessKeyFor('reconcile'),
        AWS_SECRET_ACCESS_KEY: 'local-function-secret',
        JOB_QUEUE_URL: queue.url,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      });
      await region.ssm('CreateDocument', {
        Name: 'eip-autopilot-guest-sync',
        Content: JSON.stringify({
          schemaVersion: '2.2',
          mainSteps: [{ action: 'aws:runShellScript', name: 'sync', inputs: { runCommand: ['true'] } }],
        }),
      });
      // t3.micro, 3 addresses: assign, create + attach an ENI, DeleteOnTermination, allocate, associate, status, SSM.
      const launched = await region.ec2('RunInstances', {
        ImageId: 'ami-1',
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'eip-count', Value: '3' }] }],
      });
      region.tick();
      const id = launched.Instances?.[0]?.InstanceId ?? '';
      queue.send({
        MessageBody: JSON.stringify({ instanceId: id, reason: 'tag-change' }),
        MessageGroupId: id,
        MessageDeduplicationId: 'b1',
      });
      const mod = (await import(pathToFileURL(join(dir, HANDLERS.reconcile ?? '')).href)) as {
        handler: (event: SQSEvent, ctx: typeof context) => Promise<SQSBatchResponse>;
      };
      const before = region.calls.length;
      const response = await mod.handler(queue.toEvent(queue.receive({ MaxNumberOfMessages: 1 })), context);
      const callsByHandler = region.calls.length - before;
      expect(response).toEqual({ batchItemFailures: [] });
      const owned = await region.ec2('DescribeAddresses', {
        Filters: [{ Name: 'tag:eip-autopilot:instance-id', Values: [id] }],
      });
      expect(owned.Addresses?.filter((a) => a.AssociationId)).toHaveLength(3);
      const instance = (await region.ec2('DescribeInstances', { InstanceIds: [id] })).Reservations?.[0]?.Instances?.[0];
      expect(instance?.Tags?.find((t) => t.Key === 'eip-autopilot:status')?.Value).toBe('syncing 3/3');
      expect(instance?.NetworkInterfaces).toHaveLength(2);
      expect(region.calls.filter((c) => !c.ok)).toEqual([]);
      // Every call the handler made was signed as the reconcile function, evaluated and allowed.
      expect(iam.decisions).toHaveLength(callsByHandler);
      expect(iam.decisions.filter((x) => x.functionKey !== 'reconcile' || !x.allowed)).toEqual([]);
    } finally {
      process.env = saved;
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
