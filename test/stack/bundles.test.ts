import { beforeAll, describe, expect, it } from 'vitest';
import { packageStack } from '../../local/stack/package.js';
import { readZip, type ZipEntry } from '../../local/stack/zip.js';

const HANDLERS: Record<string, string> = {
  intake: 'functions/intake/handler.mjs',
  reconcile: 'functions/reconcile/handler.mjs',
  sweep: 'functions/sweep/handler.mjs',
  commandStatus: 'functions/command-status/handler.mjs',
};

let zips: Record<string, ZipEntry[]>;

beforeAll(() => {
  const packaged = packageStack();
  zips = Object.fromEntries(Object.entries(packaged.zips).map(([name, path]) => [name, readZip(path)]));
});

describe('Function packages', () => {
  it('builds one zip per function', () => {
    expect(Object.keys(zips).sort()).toEqual(Object.keys(HANDLERS).sort());
  });

  it.each(Object.entries(HANDLERS))('%s: holds only its own ESM bundle: no source map, no node_modules', (name, file) => {
    expect((zips[name] ?? []).map((e) => e.name)).toEqual([file]);
  });

  it.each(Object.entries(HANDLERS))('%s: bundles the AWS SDK instead of importing the runtime copy', (name, file) => {
    const code = (zips[name] ?? []).find((e) => e.name === file)?.read().toString('utf8') ?? '';
    expect(code.length).toBeGreaterThan(0);
    // Only Node built-ins may stay external, and the SDK's optional CRT signer (SigV4a only, which EC2, SSM and SQS
    // do not use; the SDK looks it up lazily and works without it).
    const imports = [...code.matchAll(/\bfrom\s*"([@a-z][^"\s,=]*)"|\bimport\(\s*"([^"\s]+)"\)|\brequire\(\s*"([^"\s]+)"\)/g)].map(
      (m) => m[1] ?? m[2] ?? m[3],
    );
    for (const specifier of imports) expect(specifier).toMatch(/^node:[a-z_/]+$|^@aws-sdk\/signature-v4-crt$/);
    expect(imports).toContain('node:http');
  });

  // Each handler bundles only the clients it calls (src/deps.ts): intake must not pay for EC2's or SSM's client.
  it.each([
    ['intake', { EC2: false, SSM: false, SQS: true }],
    ['reconcile', { EC2: true, SSM: true, SQS: false }],
    ['sweep', { EC2: true, SSM: false, SQS: true }],
    ['commandStatus', { EC2: true, SSM: false, SQS: false }],
  ])('%s: bundles exactly the SDK clients it uses', (name, expected) => {
    const file = HANDLERS[name] ?? '';
    const code = (zips[name] ?? []).find((e) => e.name === file)?.read().toString('utf8') ?? '';
    // A command name of each client, as its serializer spells it in the bundle.
    const has = {
      EC2: code.includes('DescribeInstances'),
      SSM: code.includes('SendCommand'),
      SQS: code.includes('SendMessageBatch'),
    };
    expect(has).toEqual(expected);
  });
});
