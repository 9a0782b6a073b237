import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ec2 from '@aws-sdk/client-ec2';
import { NormalizedSchema } from '@smithy/core/schema';
import type { LocalSqs } from '../sqs-fifo';
import { accessKeyOf } from './iam/evaluator';
import { type CallOrigin as Caller, EC2_ACTIONS, type Region, RegionError } from './model/index';

/**
 * The local region over the wire: one HTTP server on 127.0.0.1 speaking
 * - the EC2 Query protocol (form-encoded `Action=…&Version=2016-11-15`, XML answers),
 * - the SSM JSON 1.1 protocol (`X-Amz-Target: AmazonSSM.<Action>`),
 * - the SQS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Action>`),
 * so real SDK clients (`endpoint: http://127.0.0.1:<port>`) and the real handlers run against the model.
 *
 * The EC2 wire format is not hand-written per action: it is derived from the SDK's own operation schemas (the
 * `<Action>$` exports of @aws-sdk/client-ec2, walked with @smithy/core's NormalizedSchema), using the same naming
 * rules as the SDK's QueryShapeSerializer (ec2QueryName, else capitalised xmlName/member name; flattened lists
 * `Name.N`) and XmlShapeDeserializer (xmlName, else member name; list items under the member's xmlName, EC2's
 * `item`). Every element name therefore matches what the SDK reads, for every action, by construction.
 */

const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

type Schema = NormalizedSchema;
type OperationTuple = [number, string, string, unknown, unknown, unknown];

function operation(action: string): { input: Schema; output: Schema } {
  const op = (ec2 as unknown as Record<string, OperationTuple | undefined>)[`${action}$`];
  if (!op) throw new RegionError('InvalidAction', `The action ${action} is not valid for this web service.`);
  return { input: NormalizedSchema.of(op[4] as never), output: NormalizedSchema.of(op[5] as never) };
}

// ---------- EC2 Query input ----------

function queryKey(memberName: string, member: Schema): string {
  const traits = member.getMergedTraits() as { xmlName?: string; ec2QueryName?: string };
  if (traits.ec2QueryName) return traits.ec2QueryName;
  const key = traits.xmlName ?? memberName;
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/**
 * Reads one value of `schema` from the form parameters under `prefix`, adding every parameter it uses to `used` (the
 * caller refuses the rest with `UnknownParameter`, as EC2 does).
 */
function readQuery(
  schema: Schema,
  params: Map<string, string>,
  prefix: string,
  keys: string[],
  used: Set<string>,
): unknown {
  const under = (p: string) => params.has(p) || keys.some((k) => k.startsWith(`${p}.`));
  if (schema.isStructSchema()) {
    const out: Record<string, unknown> = {};
    for (const [name, member] of schema.structIterator()) {
      const key = prefix ? `${prefix}.${queryKey(name, member)}` : queryKey(name, member);
      if (!under(key)) continue;
      out[name] = readQuery(member, params, key, keys, used);
    }
    return out;
  }
  if (schema.isListSchema()) {
    // EC2 always flattens lists: Name.1, Name.2, … (SDK setting flattenLists).
    const list: unknown[] = [];
    for (let i = 1; under(`${prefix}.${i}`); i++)
      list.push(readQuery(schema.getValueSchema(), params, `${prefix}.${i}`, keys, used));
    return list;
  }
  if (schema.isMapSchema())
    throw new RegionError('InvalidParameterValue', `Map parameters are not supported (${prefix})`);
  used.add(prefix);
  const raw = params.get(prefix) ?? '';
  if (schema.isBooleanSchema()) {
    if (raw !== 'true' && raw !== 'false')
      throw new RegionError('InvalidParameterValue', `Invalid value '${raw}' for ${prefix}`);
    return raw === 'true';
  }
  if (schema.isNumericSchema()) {
    const n = Number(raw);
    if (raw === '' || Number.isNaN(n))
      throw new RegionError('InvalidParameterValue', `Invalid value '${raw}' for ${prefix}`);
    return n;
  }
  if (schema.isTimestampSchema()) return new Date(raw);
  return raw;
}

// ---------- EC2 XML output ----------

function escapeXml(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );
}

function writeXml(schema: Schema, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (schema.isStructSchema()) {
    let out = '';
    const obj = value as Record<string, unknown>;
    for (const [name, member] of schema.structIterator()) {
      const v = obj[name];
      if (v === undefined || v === null) continue;
      const key = (member.getMemberTraits() as { xmlName?: string }).xmlName ?? name;
      out += `<${key}>${writeXml(member, v)}</${key}>`;
    }
    return out;
  }
  if (schema.isListSchema()) {
    const item = schema.getValueSchema();
    const key = (item.getMergedTraits() as { xmlName?: string }).xmlName ?? 'member';
    return (value as unknown[]).map((v) => `<${key}>${writeXml(item, v)}</${key}>`).join('');
  }
  if (schema.isTimestampSchema()) {
    const date = value instanceof Date ? value : new Date(value as string);
    return date.toISOString();
  }
  if (schema.isBlobSchema()) return Buffer.from(value as Uint8Array).toString('base64');
  return escapeXml(String(value));
}

function ec2Error(e: RegionError, requestId: string): string {
  const error = `<Error><Code>${escapeXml(e.name)}</Code><Message>${escapeXml(e.message)}</Message></Error>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Response><Errors>${error}</Errors><RequestID>${requestId}</RequestID></Response>`
  );
}

// ---------- JSON protocols ----------

/** awsJson timestamps are epoch seconds. */
function toJson(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    return original instanceof Date ? original.getTime() / 1000 : v;
  });
}

function asRegionError(e: unknown): RegionError {
  if (e instanceof RegionError) return e;
  return new RegionError('InternalError', `Internal error in the local region: ${(e as Error).message}`, 500);
}

// ---------- server ----------

/** A running server; `close()` stops it. */
export interface RegionServer {
  port: number;
  /** `http://127.0.0.1:<port>`: use as `endpoint` of SDK clients or as `AWS_ENDPOINT_URL`. */
  url: string;
  /**
   * The URL to give a queue served here (`<url>/<account>/<name>`). Use it as JOB_QUEUE_URL: the SQS client sends
   * requests to the QueueUrl's host when no explicit `endpoint` is configured (useQueueUrlAsEndpoint), so a queue URL
   * on another host would bypass the server.
   */
  queueUrl(name: string): string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the server on 127.0.0.1 (port 0 = any free port; the chosen one is returned). Only loopback is ever bound.
 */
export async function startRegionServer(opts: {
  region: Region;
  sqs?: LocalSqs;
  port?: number;
  /**
   * IAM for the SQS calls served here (local/region/iam/enforce.ts). EC2 and SSM calls are evaluated by the region's
   * own authorizer: the server hands each of them the caller's access key id.
   */
  authorizeSqs?: (call: {
    caller: string | undefined;
    action: string;
    input: Record<string, unknown>;
  }) => Promise<void>;
}): Promise<RegionServer> {
  const { region, sqs } = opts;

  async function handleEc2(text: string, res: ServerResponse, requestId: string, caller: Caller): Promise<void> {
    const params = new Map(new URLSearchParams(text));
    const action = params.get('Action') ?? '';
    try {
      if (!(EC2_ACTIONS as readonly string[]).includes(action)) {
        throw new RegionError('InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
      }
      params.delete('Action');
      params.delete('Version');
      const { input, output } = operation(action);
      const used = new Set<string>();
      const parsed = readQuery(input, params, '', [...params.keys()], used);
      const unknown = [...params.keys()].find((k) => !used.has(k));
      if (unknown) throw new RegionError('UnknownParameter', `The parameter ${unknown} is not recognized`);
      const result = await region.ec2(action as never, parsed as never, caller);
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>
<${action}Response ` +
        `xmlns="${EC2_XMLNS}"><requestId>${requestId}</requestId>${writeXml(output, result)}</${action}Response>`;
      res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
      res.end(xml);
    } catch (e) {
      const error = asRegionError(e);
      res.writeHead(error.statusCode, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
      res.end(ec2Error(error, requestId));
    }
  }

  async function handleJson(
    target: string,
    text: string,
    res: ServerResponse,
    requestId: string,
    caller: Caller,
  ): Promise<void> {
    const [service, action = ''] = target.split('.');
    const contentType = service === 'AmazonSSM' ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
    try {
      const input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      let result: unknown;
      if (service === 'AmazonSSM') result = await region.ssm(action as never, input as never, caller);
      else if (service === 'AmazonSQS' && sqs) {
        region.limits?.take('sqs', action, input);
        await opts.authorizeSqs?.({ caller: caller.caller, action, input });
        result = sqs.call(action, input);
      } else throw new RegionError('UnknownOperationException', `Unknown operation ${target}`);
      res.writeHead(200, { 'content-type': contentType, 'x-amzn-requestid': requestId });
      res.end(toJson(result));
    } catch (e) {
      const error =
        e instanceof SyntaxError ? new RegionError('SerializationException', 'Malformed JSON body') : asRegionError(e);
      const headers: Record<string, string> = { 'content-type': contentType, 'x-amzn-requestid': requestId };
      let type = error.name;
      if (service === 'AmazonSQS') {
        // SQS JSON keeps its Query-era codes in this header; the SDK reads it (awsQueryCompatible).
        const legacy = error.name === 'QueueDoesNotExist' ? 'AWS.SimpleQueueService.NonExistentQueue' : error.name;
        headers['x-amzn-query-error'] = `${legacy};${error.statusCode >= 500 ? 'Receiver' : 'Sender'}`;
        type = `com.amazonaws.sqs#${error.name}`;
      }
      res.writeHead(error.statusCode, headers);
      res.end(JSON.stringify({ __type: type, message: error.message }));
    }
  }

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    body(req)
      .then(async (text) => {
        const target = req.headers['x-amz-target'];
        // Who signed the request (SigV4 Credential=<access key id>/…): IAM evaluates the call as that caller.
        const caller: Caller = { caller: accessKeyOf(req.headers.authorization) };
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST' });
          res.end();
        } else if (typeof target === 'string') {
          await handleJson(target, text, res, requestId, caller);
        } else {
          await handleEc2(text, res, requestId, caller);
        }
      })
      .catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    queueUrl: (name) => `http://127.0.0.1:${port}/${region.accountId}/${name}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
