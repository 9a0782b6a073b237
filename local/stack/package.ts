/**
 * Runs `npm run package` (osls + serverless-esbuild, offline) and reads what it produced: the CloudFormation
 * template and one zip per function. Used by the stack checks (test/stack) and the bundle benchmark.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (where serverless.yml lives). */
export const STACK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where osls writes its artifacts. */
export const PACKAGE_DIR = join(STACK_ROOT, '.serverless');
const TEMPLATE = join(PACKAGE_DIR, 'cloudformation-template-update-stack.json');
const MARKER = join(PACKAGE_DIR, '.packaged-for');

/** The subset of a CloudFormation template the checks read. */
export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
}

/** One resource of a template. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  [key: string]: unknown;
}

/** What `npm run package` produced. */
export interface PackagedStack {
  template: CfnTemplate;
  /** Function key (serverless.yml) → absolute path of its zip. */
  zips: Record<string, string>;
}

/**
 * Environment for osls: no credentials and no profile, so packaging never reaches (or needs) an AWS account, and a
 * developer's real credentials are never read.
 */
export function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_')) env[key] = value;
  }
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_CONFIG_FILE = '/dev/null';
  env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  return env;
}

/**
 * Package the stack with non-default parameters (`--param name=value`) into `outDir`, leaving `.serverless/` alone.
 * Returns the template only.
 */
export function packageWithParams(params: Record<string, string>, outDir: string): CfnTemplate {
  const args = ['osls', 'package', '--stage', 'dev', '--region', 'us-east-1', '--package', outDir];
  for (const [name, value] of Object.entries(params)) args.push('--param', `${name}=${value}`);
  try {
    execFileSync('npx', args, {
      cwd: STACK_ROOT,
      env: offlineEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`osls package failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`, { cause: err });
  }
  return JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
}

/** Where {@link packagedTemplate} keeps templates by the hash of what they are built from. */
const TEMPLATE_CACHE = join(STACK_ROOT, 'node_modules', '.cache', 'eip-autopilot');

/**
 * The files a packaged template is built from: serverless.yml, infra/ (roles, rules, resolvers), the guest document
 * it embeds, and package-lock.json (the osls and plugin versions). Function code is not among them: it changes the
 * zips, never the template's resources.
 */
function templateInputs(): string[] {
  const infra = readdirSync(join(STACK_ROOT, 'infra'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  return [
    join(STACK_ROOT, 'serverless.yml'),
    join(STACK_ROOT, 'package-lock.json'),
    join(STACK_ROOT, 'ssm-documents', 'guest-sync.yaml'),
    ...infra.sort(),
  ];
}

/**
 * The template `osls package` produces with these parameters (the JSON a deploy sends), packaged once per content of
 * its inputs and kept in node_modules/.cache: the demo and the end-to-end tests read the roles from it without paying
 * ~15 s of packaging on every start.
 */
export function packagedTemplate(params: Record<string, string> = {}): CfnTemplate {
  const hash = createHash('sha256');
  for (const file of templateInputs()) hash.update(`${file}\0`).update(readFileSync(file)).update('\0');
  hash.update(JSON.stringify(Object.entries(params).sort()));
  const cached = join(TEMPLATE_CACHE, `template-${hash.digest('hex').slice(0, 32)}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as CfnTemplate;
  const out = mkdtempSync(join(tmpdir(), 'eip-package-'));
  try {
    const template = packageWithParams(params, out);
    mkdirSync(TEMPLATE_CACHE, { recursive: true });
    // Written whole, then renamed: a concurrent reader sees the old state or the complete file.
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(template));
    renameSync(partial, cached);
    return template;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Package the stack, at most once per `key` (default: once per test run, keyed by the vitest main process, since
 * packaging takes ~15 s and every stack check reads the same output). `force` always repackages.
 */
export function packageStack(options: { key?: string; force?: boolean } = {}): PackagedStack {
  const key = options.key ?? `ppid:${process.ppid}`;
  const fresh = !options.force && existsSync(TEMPLATE) && existsSync(MARKER) && readFileSync(MARKER, 'utf8') === key;
  if (!fresh) {
    try {
      execFileSync('npm', ['run', '--silent', 'package'], {
        cwd: STACK_ROOT,
        env: offlineEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`npm run package failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`, {
        cause: err,
      });
    }
    writeFileSync(MARKER, key);
  }
  return readPackagedStack();
}

/** Read the artifacts of the last `npm run package` without repackaging. */
export function readPackagedStack(): PackagedStack {
  const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as CfnTemplate;
  const state = JSON.parse(readFileSync(join(PACKAGE_DIR, 'serverless-state.json'), 'utf8')) as {
    service: { functions: Record<string, { package?: { artifact?: string } }> };
  };
  const zips: Record<string, string> = {};
  for (const [name, fn] of Object.entries(state.service.functions)) {
    const artifact = fn.package?.artifact;
    if (!artifact) throw new Error(`function ${name} has no package artifact in serverless-state.json`);
    const path = join(PACKAGE_DIR, artifact.split('/').pop() as string);
    if (!statSync(path).isFile()) throw new Error(`zip for ${name} not found at ${path}`);
    zips[name] = path;
  }
  return { template, zips };
}

/** The Properties of resource `logicalId` in `template` (throws when the resource or its properties are missing). */
export function propertiesOf(template: CfnTemplate, logicalId: string): Record<string, unknown> {
  const properties = template.Resources[logicalId]?.Properties;
  if (!properties) throw new Error(`no resource ${logicalId} with Properties in the template`);
  return properties;
}
