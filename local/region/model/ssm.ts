import { createHash } from 'node:crypto';
import type {
  Command,
  CommandInvocation,
  CreateDocumentRequest,
  CreateDocumentResult,
  DescribeDocumentRequest,
  DescribeDocumentResult,
  DescribeInstanceInformationRequest,
  DescribeInstanceInformationResult,
  DocumentDescription,
  GetCommandInvocationRequest,
  GetCommandInvocationResult,
  GetDocumentRequest,
  GetDocumentResult,
  InstanceInformation,
  ListCommandInvocationsRequest,
  ListCommandInvocationsResult,
  SendCommandRequest,
  SendCommandResult,
  UpdateDocumentDefaultVersionRequest,
  UpdateDocumentDefaultVersionResult,
  UpdateDocumentRequest,
  UpdateDocumentResult,
} from '@aws-sdk/client-ssm';
import { parse as parseYaml } from 'yaml';
import type { RegionContext } from './context';
import { regionError } from './errors';
import { decodeToken, encodeToken } from './filters';

/** Result of running one script on one instance. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a document step's shell script on an instance. Part 2 plugs in the VPC lab (the script runs inside the
 * instance's guest namespace); the default records the call and succeeds.
 */
export type CommandRunner = (instanceId: string, script: string, env: Record<string, string>) => Promise<RunResult>;

/** What the EC2 half tells SSM about an instance. */
export interface InstanceView {
  state(instanceId: string): string | undefined;
  runningSince(instanceId: string): number | undefined;
  longestRun(instanceId: string): number;
  primaryIp(instanceId: string): string | undefined;
  instanceIds(): string[];
}

interface DocParameter {
  type?: string;
  default?: unknown;
  allowedPattern?: string;
  description?: string;
  interpolationType?: string;
}

interface ParsedDocument {
  schemaVersion: string;
  description?: string;
  parameters: Record<string, DocParameter>;
  steps: { name: string; script: string }[];
}

interface DocVersion {
  content: string;
  format: 'JSON' | 'YAML';
  parsed: ParsedDocument;
  hash: string;
  created: Date;
  versionName?: string;
}

interface DocumentRec {
  name: string;
  type: string;
  versions: DocVersion[];
  defaultVersion: number;
  tags: { Key: string; Value: string }[];
}

interface PluginRec {
  name: string;
  status: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  start?: Date;
  end?: Date;
}

interface InvocationRec {
  instanceId: string;
  status: string;
  plugins: PluginRec[];
}

interface CommandRec {
  id: string;
  documentName: string;
  documentVersion: string;
  comment: string;
  parameters: Record<string, string[]>;
  requested: Date;
  timeoutSeconds: number;
  status: string;
  invocations: Map<string, InvocationRec>;
}

/** GetCommandInvocation returns the first 24,000 characters of stdout and 8,000 of stderr (docs/aws-facts.md). */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
/** ListCommandInvocations (Details=true) returns only the first 2,500 characters of a plugin's output. */
const LIST_OUTPUT_LIMIT = 2_500;
/** SSM document content limit (docs/aws-facts.md: 64 KB). */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** The shell-script runner AWS ships, so the reconciler may also use `AWS-RunShellScript`. */
const RUN_SHELL_SCRIPT: ParsedDocument = {
  schemaVersion: '2.2',
  description: 'Run a shell script.',
  parameters: {
    commands: { type: 'StringList', description: '(Required) Specify a shell script or a command to run.' },
    workingDirectory: { type: 'String', default: '' },
    executionTimeout: { type: 'String', default: '3600' },
  },
  steps: [{ name: 'runShellScript', script: '{{ commands }}' }],
};

function parseDocument(content: string, format: string): ParsedDocument {
  if (Buffer.byteLength(content, 'utf8') > MAX_DOCUMENT_BYTES) {
    throw regionError('MaxDocumentSizeExceeded', 'Content exceeds the maximum document size of 64 KB.');
  }
  let raw: unknown;
  try {
    raw = format === 'YAML' ? parseYaml(content) : JSON.parse(content);
  } catch (e) {
    throw regionError('InvalidDocumentContent', `Document content is not valid ${format}: ${(e as Error).message}`);
  }
  const doc = raw as { schemaVersion?: unknown; description?: unknown; parameters?: unknown; mainSteps?: unknown };
  if (!doc || typeof doc !== 'object')
    throw regionError('InvalidDocumentContent', 'Document content must be an object');
  if (doc.schemaVersion !== '2.2')
    throw regionError('InvalidDocumentContent', 'Only schemaVersion 2.2 Command documents are modelled');
  if (!Array.isArray(doc.mainSteps) || doc.mainSteps.length === 0)
    throw regionError('InvalidDocumentContent', 'mainSteps must be a non-empty list');
  const steps = doc.mainSteps.map((step: unknown, i: number) => {
    const s = step as { action?: unknown; name?: unknown; inputs?: { runCommand?: unknown } };
    if (s.action !== 'aws:runShellScript') {
      throw regionError(
        'InvalidDocumentContent',
        `Step ${i}: only aws:runShellScript is modelled, got ${String(s.action)}`,
      );
    }
    if (typeof s.name !== 'string' || s.name === '')
      throw regionError('InvalidDocumentContent', `Step ${i}: name is required`);
    const run = s.inputs?.runCommand;
    const lines = typeof run === 'string' ? [run] : run;
    if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) {
      throw regionError(
        'InvalidDocumentContent',
        `Step ${s.name}: inputs.runCommand must be a string or a list of strings`,
      );
    }
    return { name: s.name, script: lines.join('\n') };
  });
  const parameters = (doc.parameters ?? {}) as Record<string, DocParameter>;
  if (typeof parameters !== 'object' || Array.isArray(parameters))
    throw regionError('InvalidDocumentContent', 'parameters must be an object');
  return {
    schemaVersion: '2.2',
    description: typeof doc.description === 'string' ? doc.description : undefined,
    parameters,
    steps,
  };
}

function hashOf(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The SSM half of the region: documents, Run Command and agent registration. An instance's agent is "registered"
 * once the instance has been running for `agentDelayMs`; before that SendCommand answers `InvalidInstanceId`, as AWS
 * does for an agent that is not online yet.
 */
export class SsmModel {
  private readonly documents = new Map<string, DocumentRec>();
  private readonly commands = new Map<string, CommandRec>();
  private readonly commandOrder: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly ctx: RegionContext,
    private readonly instances: InstanceView,
    private readonly agentDelayMs: number,
    private runner: CommandRunner,
    /** Real time the agent takes to pick a command up (AWS: about a second); 0 = on the next microtask. */
    private readonly pickupMs = 0,
  ) {}

  /** Replaces the command runner (part 2 plugs the VPC lab in here). */
  setRunner(runner: CommandRunner): void {
    this.runner = runner;
  }

  /** Resolves once every command started so far has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** True when the instance's agent is online: running for at least the registration delay. */
  online(instanceId: string): boolean {
    const since = this.instances.runningSince(instanceId);
    return since !== undefined && this.ctx.now() >= since + this.agentDelayMs;
  }

  /** True once the agent has been online at least once: SSM keeps knowing it (ConnectionLost) after a stop. */
  private registered(instanceId: string): boolean {
    const everRan = this.instances.runningSince(instanceId) !== undefined || this.instances.longestRun(instanceId) > 0;
    return everRan && this.instances.longestRun(instanceId) >= this.agentDelayMs;
  }

  // ---------- documents ----------

  private doc(name: string | undefined): DocumentRec {
    const doc = name ? this.documents.get(name) : undefined;
    if (!doc) throw regionError('InvalidDocument', `Document with name ${name ?? ''} does not exist.`);
    return doc;
  }

  private version(doc: DocumentRec, wanted: string | undefined): { version: DocVersion; number: number } {
    const latest = doc.versions.length;
    const number =
      wanted === undefined || wanted === '$DEFAULT'
        ? doc.defaultVersion
        : wanted === '$LATEST'
          ? latest
          : Number(wanted);
    const version = Number.isInteger(number) ? doc.versions[number - 1] : undefined;
    if (!version)
      throw regionError('InvalidDocumentVersion', `Document version ${wanted} of ${doc.name} does not exist.`);
    return { version, number };
  }

  private describe(doc: DocumentRec, number: number, version: DocVersion): DocumentDescription {
    return {
      Name: doc.name,
      DocumentType: doc.type as DocumentDescription['DocumentType'],
      DocumentFormat: version.format,
      DocumentVersion: String(number),
      LatestVersion: String(doc.versions.length),
      DefaultVersion: String(doc.defaultVersion),
      VersionName: version.versionName,
      Hash: version.hash,
      HashType: 'Sha256',
      Status: 'Active',
      CreatedDate: version.created,
      Owner: this.ctx.account,
      PlatformTypes: ['Linux', 'MacOS'],
      SchemaVersion: version.parsed.schemaVersion,
      Description: version.parsed.description,
      Parameters: Object.entries(version.parsed.parameters).map(([Name, p]) => ({
        Name,
        Type: (p.type ?? 'String') as 'String',
        Description: p.description,
        DefaultValue: p.default === undefined ? undefined : String(p.default),
      })),
      Tags: doc.tags,
    };
  }

  CreateDocument(input: CreateDocumentRequest): CreateDocumentResult {
    const name = input.Name ?? '';
    if (!/^[a-zA-Z0-9_.-]{3,128}$/.test(name) || /^(aws|amazon|amzn)/i.test(name)) {
      throw regionError('ValidationException', `Document name '${name}' is invalid or reserved.`);
    }
    if (this.documents.has(name)) throw regionError('DocumentAlreadyExists', 'Document with same name already exists.');
    if ((input.DocumentType ?? 'Command') !== 'Command')
      throw regionError('InvalidDocumentType', 'Only Command documents are modelled');
    const format = (input.DocumentFormat ?? 'JSON') as 'JSON' | 'YAML';
    const content = input.Content ?? '';
    const parsed = parseDocument(content, format);
    const doc: DocumentRec = {
      name,
      type: 'Command',
      versions: [
        {
          content,
          format,
          parsed,
          hash: hashOf(content),
          created: new Date(this.ctx.now()),
          versionName: input.VersionName,
        },
      ],
      defaultVersion: 1,
      tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
    };
    this.documents.set(name, doc);
    return { DocumentDescription: this.describe(doc, 1, doc.versions[0] as DocVersion) };
  }

  UpdateDocument(input: UpdateDocumentRequest): UpdateDocumentResult {
    const doc = this.doc(input.Name);
    const latest = doc.versions.length;
    if (
      input.DocumentVersion !== undefined &&
      input.DocumentVersion !== '$LATEST' &&
      input.DocumentVersion !== String(latest)
    ) {
      throw regionError('InvalidDocumentVersion', 'The document version must be $LATEST or the latest version number.');
    }
    const format = (input.DocumentFormat ?? 'JSON') as 'JSON' | 'YAML';
    const content = input.Content ?? '';
    const parsed = parseDocument(content, format);
    const hash = hashOf(content);
    if (doc.versions.some((v) => v.hash === hash))
      throw regionError(
        'DuplicateDocumentContent',
        'The content of the association document matches another document.',
      );
    // Like AWS, a new version does not become the default: UpdateDocumentDefaultVersion does that.
    const version: DocVersion = {
      content,
      format,
      parsed,
      hash,
      created: new Date(this.ctx.now()),
      versionName: input.VersionName,
    };
    doc.versions.push(version);
    return { DocumentDescription: this.describe(doc, doc.versions.length, version) };
  }

  UpdateDocumentDefaultVersion(input: UpdateDocumentDefaultVersionRequest): UpdateDocumentDefaultVersionResult {
    const doc = this.doc(input.Name);
    const { number, version } = this.version(doc, input.DocumentVersion);
    doc.defaultVersion = number;
    return { Description: { Name: doc.name, DefaultVersion: String(number), DefaultVersionName: version.versionName } };
  }

  DescribeDocument(input: DescribeDocumentRequest): DescribeDocumentResult {
    const doc = this.doc(input.Name);
    const { number, version } = this.version(doc, input.DocumentVersion);
    return { Document: this.describe(doc, number, version) };
  }

  GetDocument(input: GetDocumentRequest): GetDocumentResult {
    const doc = this.doc(input.Name);
    const { number, version } = this.version(doc, input.DocumentVersion);
    return {
      Name: doc.name,
      DocumentVersion: String(number),
      Content: version.content,
      DocumentFormat: version.format,
      DocumentType: 'Command',
      Status: 'Active',
      VersionName: version.versionName,
    };
  }

  // ---------- Run Command ----------

  private resolveDocument(
    name: string | undefined,
    wanted: string | undefined,
  ): { parsed: ParsedDocument; version: string } {
    if (name === 'AWS-RunShellScript') return { parsed: RUN_SHELL_SCRIPT, version: '1' };
    const doc = this.doc(name);
    const { number, version } = this.version(doc, wanted);
    return { parsed: version.parsed, version: String(number) };
  }

  /** Turns parameters into (script text, environment) per step; refuses what SSM would refuse. */
  private render(
    parsed: ParsedDocument,
    given: Record<string, string[]>,
  ): { name: string; script: string; env: Record<string, string> }[] {
    for (const key of Object.keys(given)) {
      if (!parsed.parameters[key])
        throw regionError('InvalidParameters', `Parameter "${key}" is not defined in the document.`);
    }
    const values = new Map<string, string>();
    const env: Record<string, string> = {};
    for (const [name, p] of Object.entries(parsed.parameters)) {
      const list =
        given[name] ??
        (p.default === undefined ? undefined : Array.isArray(p.default) ? p.default.map(String) : [String(p.default)]);
      if (list === undefined)
        throw regionError('InvalidParameters', `Parameter "${name}" is required but was not given.`);
      const value = list.join('\n');
      if (p.allowedPattern && !list.every((v) => new RegExp(p.allowedPattern as string).test(v))) {
        throw regionError(
          'InvalidParameters',
          `Parameter "${name}" "${value}" failed to satisfy constraint: allowedPattern ${p.allowedPattern}`,
        );
      }
      if (p.interpolationType === 'ENV_VAR') {
        // ENV_VAR keeps the value out of the script text: a {{ name }} reference becomes the variable itself.
        env[`SSM_${name}`] = value;
        values.set(name, `\${SSM_${name}}`);
      } else {
        values.set(name, value);
      }
    }
    return parsed.steps.map((step) => ({
      name: step.name,
      env,
      script: step.script.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (whole, name: string) => values.get(name) ?? whole),
    }));
  }

  SendCommand(input: SendCommandRequest): SendCommandResult {
    const ids = input.InstanceIds ?? [];
    if (input.Targets && input.Targets.length > 0)
      throw regionError('InvalidParameters', 'Targets are not modelled by the local region: use InstanceIds');
    if (ids.length === 0) throw regionError('ValidationException', 'InstanceIds must contain at least one instance id');
    if (ids.length > 50) throw regionError('ValidationException', 'InstanceIds must contain at most 50 instance ids');
    const { parsed, version } = this.resolveDocument(input.DocumentName, input.DocumentVersion);
    const steps = this.render(parsed, (input.Parameters ?? {}) as Record<string, string[]>);
    const offline = ids.filter((id) => !this.online(id));
    if (offline.length > 0) {
      throw regionError(
        'InvalidInstanceId',
        `Instances [[${offline.join(', ')}]] not in a valid state for account ${this.ctx.account}`,
      );
    }
    const now = this.ctx.now();
    const cmd: CommandRec = {
      id: this.ctx.rng.uuid(),
      documentName: input.DocumentName ?? '',
      documentVersion: version,
      comment: input.Comment ?? '',
      parameters: (input.Parameters ?? {}) as Record<string, string[]>,
      requested: new Date(now),
      timeoutSeconds: input.TimeoutSeconds ?? 3600,
      status: 'Pending',
      invocations: new Map(),
    };
    for (const id of ids) {
      cmd.invocations.set(id, {
        instanceId: id,
        status: 'Pending',
        plugins: steps.map((s) => ({ name: s.name, status: 'Pending', responseCode: -1, stdout: '', stderr: '' })),
      });
    }
    this.commands.set(cmd.id, cmd);
    this.commandOrder.push(cmd.id);
    this.commandEvent(cmd);
    for (const id of ids) this.invocationEvent(cmd, id, 'Pending');
    const run = this.execute(cmd, steps).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return { Command: this.commandView(cmd) };
  }

  private async execute(
    cmd: CommandRec,
    steps: { name: string; script: string; env: Record<string, string> }[],
  ): Promise<void> {
    // Give the caller its SendCommand answer first, as the real agent picks the command up asynchronously.
    if (this.pickupMs > 0) await new Promise((resolve) => setTimeout(resolve, this.pickupMs));
    else await Promise.resolve();
    cmd.status = 'InProgress';
    this.commandEvent(cmd);
    await Promise.all(
      [...cmd.invocations.values()].map(async (inv) => {
        inv.status = 'InProgress';
        this.invocationEvent(cmd, inv.instanceId, 'InProgress');
        let failed = false;
        for (const [k, step] of steps.entries()) {
          const plugin = inv.plugins[k] as PluginRec;
          if (failed) {
            plugin.status = 'Cancelled';
            continue;
          }
          plugin.status = 'InProgress';
          plugin.start = new Date(this.ctx.now());
          try {
            const result = await this.runner(inv.instanceId, step.script, { ...step.env });
            plugin.stdout = result.stdout;
            plugin.stderr = result.stderr;
            plugin.responseCode = result.exitCode;
            plugin.status = result.exitCode === 0 ? 'Success' : 'Failed';
          } catch (e) {
            plugin.stderr = `failed to run commands: ${(e as Error).message}`;
            plugin.responseCode = 1;
            plugin.status = 'Failed';
          }
          plugin.end = new Date(this.ctx.now());
          if (plugin.status === 'Failed') failed = true;
        }
        inv.status = failed ? 'Failed' : 'Success';
        this.invocationEvent(cmd, inv.instanceId, inv.status);
      }),
    );
    cmd.status = [...cmd.invocations.values()].every((i) => i.status === 'Success') ? 'Success' : 'Failed';
    this.commandEvent(cmd);
  }

  private commandEvent(cmd: CommandRec): void {
    this.ctx.emit(
      'EC2 Command Status-change Notification',
      'aws.ssm',
      [...cmd.invocations.keys()].map((id) => this.arn(id)),
      {
        'command-id': cmd.id,
        'document-name': cmd.documentName,
        'expire-after': new Date(cmd.requested.getTime() + cmd.timeoutSeconds * 1000).toISOString(),
        parameters: cmd.parameters,
        'requested-date-time': cmd.requested.toISOString(),
        status: cmd.status,
      },
    );
  }

  private invocationEvent(cmd: CommandRec, instanceId: string, status: string): void {
    this.ctx.emit('EC2 Command Invocation Status-change Notification', 'aws.ssm', [this.arn(instanceId)], {
      'command-id': cmd.id,
      'document-name': cmd.documentName,
      'instance-id': instanceId,
      'requested-date-time': cmd.requested.toISOString(),
      status,
    });
  }

  private arn(instanceId: string): string {
    return `arn:aws:ec2:${this.ctx.region}:${this.ctx.account}:instance/${instanceId}`;
  }

  private commandView(cmd: CommandRec): Command {
    const invs = [...cmd.invocations.values()];
    const done = invs.filter((i) => i.status === 'Success' || i.status === 'Failed');
    return {
      CommandId: cmd.id,
      DocumentName: cmd.documentName,
      DocumentVersion: cmd.documentVersion,
      Comment: cmd.comment,
      Parameters: cmd.parameters,
      InstanceIds: [...cmd.invocations.keys()],
      Targets: [],
      RequestedDateTime: cmd.requested,
      ExpiresAfter: new Date(cmd.requested.getTime() + cmd.timeoutSeconds * 1000),
      Status: cmd.status as Command['Status'],
      StatusDetails: cmd.status,
      TargetCount: invs.length,
      CompletedCount: done.length,
      ErrorCount: invs.filter((i) => i.status === 'Failed').length,
      DeliveryTimedOutCount: 0,
      MaxConcurrency: '50',
      MaxErrors: '0',
      TimeoutSeconds: cmd.timeoutSeconds,
    };
  }

  GetCommandInvocation(input: GetCommandInvocationRequest): GetCommandInvocationResult {
    const cmd = input.CommandId ? this.commands.get(input.CommandId) : undefined;
    const inv = input.InstanceId ? cmd?.invocations.get(input.InstanceId) : undefined;
    if (!cmd || !inv)
      throw regionError(
        'InvocationDoesNotExist',
        'The command ID and instance ID you specified did not match any invocations.',
      );
    let plugin: PluginRec | undefined;
    if (input.PluginName) {
      plugin = inv.plugins.find((p) => p.name === input.PluginName);
      if (!plugin) throw regionError('InvalidPluginName', `The plugin name ${input.PluginName} is not valid.`);
    } else if (inv.plugins.length > 1) {
      throw regionError('InvalidPluginName', 'The document has several steps: a PluginName is required.');
    } else {
      plugin = inv.plugins[0];
    }
    const started = plugin?.start;
    const ended = plugin?.end;
    return {
      CommandId: cmd.id,
      InstanceId: inv.instanceId,
      Comment: cmd.comment,
      DocumentName: cmd.documentName,
      DocumentVersion: cmd.documentVersion,
      PluginName: plugin?.name,
      ResponseCode: plugin?.responseCode ?? -1,
      ExecutionStartDateTime: started?.toISOString() ?? '',
      ExecutionEndDateTime: ended?.toISOString() ?? '',
      ExecutionElapsedTime: started && ended ? elapsed(ended.getTime() - started.getTime()) : '',
      Status: (plugin?.status ?? inv.status) as GetCommandInvocationResult['Status'],
      StatusDetails: plugin?.status ?? inv.status,
      StandardOutputContent: (plugin?.stdout ?? '').slice(0, STDOUT_LIMIT),
      StandardOutputUrl: '',
      StandardErrorContent: (plugin?.stderr ?? '').slice(0, STDERR_LIMIT),
      StandardErrorUrl: '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  ListCommandInvocations(input: ListCommandInvocationsRequest): ListCommandInvocationsResult {
    const max = input.MaxResults ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 50)
      throw regionError('ValidationException', 'MaxResults must be between 1 and 50');
    if (input.CommandId && !this.commands.has(input.CommandId))
      throw regionError('InvalidCommandId', `Command ${input.CommandId} does not exist.`);
    const keep = invocationFilter(input.Filters ?? []);
    const scanned: { cmd: CommandRec; inv: InvocationRec }[] = [];
    // Newest first, as SSM lists them.
    for (const id of [...this.commandOrder].reverse()) {
      if (input.CommandId && id !== input.CommandId) continue;
      const cmd = this.commands.get(id) as CommandRec;
      for (const inv of cmd.invocations.values()) {
        if (input.InstanceId && inv.instanceId !== input.InstanceId) continue;
        scanned.push({ cmd, inv });
      }
    }
    // A page is a window of MaxResults invocations, filtered afterwards: a filtered list can answer an empty page with
    // a NextToken, as SSM does.
    const start = decodeToken(input.NextToken);
    const end = Math.min(scanned.length, start + max);
    const page: CommandInvocation[] = [];
    for (const { cmd, inv } of scanned.slice(start, end)) {
      if (!keep(cmd, inv.status)) continue;
      page.push({
        CommandId: cmd.id,
        InstanceId: inv.instanceId,
        Comment: cmd.comment,
        DocumentName: cmd.documentName,
        DocumentVersion: cmd.documentVersion,
        RequestedDateTime: cmd.requested,
        Status: inv.status as CommandInvocation['Status'],
        StatusDetails: inv.status,
        StandardOutputUrl: '',
        StandardErrorUrl: '',
        CommandPlugins: input.Details
          ? inv.plugins.map((p) => ({
              Name: p.name,
              Status: p.status as 'Success',
              StatusDetails: p.status,
              ResponseCode: p.responseCode,
              ResponseStartDateTime: p.start,
              ResponseFinishDateTime: p.end,
              Output: `${p.stdout}${p.stderr ? `\n----------ERROR-------\n${p.stderr}` : ''}`.slice(
                0,
                LIST_OUTPUT_LIMIT,
              ),
              StandardOutputUrl: '',
              StandardErrorUrl: '',
            }))
          : [],
      });
    }
    return { CommandInvocations: page, NextToken: end < scanned.length ? encodeToken(end) : undefined };
  }

  DescribeInstanceInformation(input: DescribeInstanceInformationRequest): DescribeInstanceInformationResult {
    const max = input.MaxResults ?? 50;
    if (!Number.isInteger(max) || max < 5 || max > 50)
      throw regionError('ValidationException', 'MaxResults must be between 5 and 50');
    const wanted = new Map<string, string[]>();
    for (const f of input.Filters ?? []) wanted.set(f.Key ?? '', f.Values ?? []);
    for (const f of input.InstanceInformationFilterList ?? []) wanted.set(f.key ?? '', f.valueSet ?? []);
    for (const key of wanted.keys()) {
      if (!['InstanceIds', 'PingStatus', 'PlatformTypes', 'ResourceType'].includes(key)) {
        throw regionError(
          'InvalidInstanceInformationFilterValue',
          `The filter key ${key} is not modelled by the local region.`,
        );
      }
    }
    const list: InstanceInformation[] = [];
    for (const id of this.instances.instanceIds()) {
      const state = this.instances.state(id);
      const online = this.online(id);
      // An agent that never registered is unknown to SSM; a terminated instance drops out.
      if (!this.registered(id) || state === 'terminated' || state === undefined) continue;
      const info: InstanceInformation = {
        InstanceId: id,
        PingStatus: online ? 'Online' : 'ConnectionLost',
        LastPingDateTime: new Date(this.ctx.now()),
        AgentVersion: '3.3.0.0',
        IsLatestVersion: true,
        PlatformType: 'Linux',
        PlatformName: 'Amazon Linux',
        PlatformVersion: '2023',
        ResourceType: 'EC2Instance',
        IPAddress: this.instances.primaryIp(id),
        ComputerName: this.instances.primaryIp(id)
          ? `ip-${this.instances.primaryIp(id)?.replaceAll('.', '-')}.ec2.internal`
          : undefined,
      };
      const match = (key: string, value: string | undefined) => {
        const values = wanted.get(key);
        return values === undefined || (value !== undefined && values.includes(value));
      };
      if (
        match('InstanceIds', id) &&
        match('PingStatus', info.PingStatus) &&
        match('PlatformTypes', 'Linux') &&
        match('ResourceType', 'EC2Instance')
      ) {
        list.push(info);
      }
    }
    const start = decodeToken(input.NextToken);
    const end = Math.min(list.length, start + max);
    return {
      InstanceInformationList: list.slice(start, end),
      NextToken: end < list.length ? encodeToken(end) : undefined,
    };
  }
}

/** ISO 8601 duration, the format of ExecutionElapsedTime (e.g. `PT0.042S`). */
function elapsed(ms: number): string {
  return `PT${(ms / 1000).toFixed(3)}S`;
}

/**
 * ListCommandInvocations `Filters` (key/value, AND-ed): DocumentName, Status, InvokedAfter, InvokedBefore, as the
 * SSM API reference lists them (ExecutionStage is not modelled). A bad key or date is a ValidationException.
 */
function invocationFilter(filters: { key?: string; value?: string }[]): (cmd: CommandRec, status: string) => boolean {
  const tests = filters.map(({ key, value = '' }): ((cmd: CommandRec, status: string) => boolean) => {
    switch (key) {
      case 'DocumentName':
        return (cmd) => cmd.documentName === value;
      case 'Status':
        return (_cmd, status) => status === value;
      case 'InvokedAfter':
      case 'InvokedBefore': {
        const at = Date.parse(value);
        if (Number.isNaN(at)) throw regionError('ValidationException', `${key} must be a date-time, not "${value}"`);
        return key === 'InvokedAfter' ? (cmd) => cmd.requested.getTime() >= at : (cmd) => cmd.requested.getTime() <= at;
      }
      default:
        throw regionError('InvalidFilterKey', `The filter key ${String(key)} is not valid.`);
    }
  });
  return (cmd, status) => tests.every((t) => t(cmd, status));
}
