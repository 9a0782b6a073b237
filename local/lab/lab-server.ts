/**
 * The lab's two HTTP servers, run as child processes inside a lab namespace (`ip netns exec <ns> node …
 * lab-server.ts`):
 *
 * - `imds <state-file>`: an IMDSv2 endpoint on 169.254.169.254:80. It re-reads the state file the lab writes on every
 *   request, so `Lab.apply()` / `Lab.setImds()` take effect without restarting it.
 * - `echo <port>`: answers every request with the caller's IPv4 address, like ifconfig.me.
 *
 * Node's own http module is enough for both; each prints `ready` once listening so the lab can wait for it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { LabInstance } from './vpc-lab';

/** What the lab writes for the IMDS server. */
export interface ImdsState {
  mode: 'ok' | 'down' | 'garbage';
  instance: LabInstance;
}

/** Resolves one metadata path (after `/latest/meta-data/`) against the instance; `undefined` means 404. */
export function metadata(instance: LabInstance, path: string, garbage = false): string | undefined {
  const primary = instance.enis.find((e) => e.deviceNumber === 0 && e.networkCard === 0) ?? instance.enis[0];
  if (path === '') return 'instance-id\nmac\nnetwork/';
  if (path === 'instance-id') return instance.instanceId;
  if (path === 'mac') return primary?.mac;
  if (path === 'network/') return 'interfaces/';
  if (path === 'network/interfaces/') return 'macs/';
  if (path === 'network/interfaces/macs/') return instance.enis.map((e) => `${e.mac}/`).join('\n');
  const m = /^network\/interfaces\/macs\/([0-9a-f:]{17})\/(.*)$/.exec(path);
  const eni = m && instance.enis.find((e) => e.mac === m[1]);
  if (!m || !eni) return undefined;
  const key = m[2] ?? '';
  const eips = Object.entries(eni.publicIps);
  // Garbage mode: what a broken metadata service could answer; the script must refuse it and change nothing.
  if (garbage && key === 'local-ipv4s') return '10.0.0.300\nnot-an-address';
  if (garbage && key === 'subnet-ipv4-cidr-block') return 'banana';
  switch (key) {
    case '':
      return [
        'device-number',
        'interface-id',
        'ipv4-associations/',
        'local-ipv4s',
        'mac',
        'network-card',
        'public-ipv4s',
        'subnet-ipv4-cidr-block',
      ].join('\n');
    case 'device-number':
      return String(eni.imdsDeviceNumber ?? eni.deviceNumber);
    case 'network-card':
      return String(eni.networkCard);
    case 'interface-id':
      return eni.interfaceId;
    case 'mac':
      return eni.mac;
    case 'local-ipv4s':
      return eni.privateIps.join('\n');
    case 'subnet-ipv4-cidr-block':
      return eni.subnetCidr;
    case 'public-ipv4s':
      return eips.length ? eips.map(([, eip]) => eip).join('\n') : undefined;
    case 'ipv4-associations/':
      return eips.length ? eips.map(([, eip]) => eip).join('\n') : undefined;
    default: {
      const assoc = /^ipv4-associations\/([0-9.]+)$/.exec(key);
      const pair = assoc && eips.find(([, eip]) => eip === assoc[1]);
      return pair ? pair[0] : undefined;
    }
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function serveImds(stateFile: string): void {
  const tokens = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ImdsState;
    const url = req.url ?? '/';
    if (req.method === 'PUT' && url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(res, 400, 'missing ttl\n');
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      return send(res, 200, token);
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !tokens.has(token)) return send(res, 401, 'Unauthorized\n');
    if (req.method !== 'GET' || !url.startsWith('/latest/meta-data/')) return send(res, 404, 'Not Found\n');
    const body = metadata(state.instance, url.slice('/latest/meta-data/'.length), state.mode === 'garbage');
    return body === undefined ? send(res, 404, 'Not Found\n') : send(res, 200, body);
  });
  server.keepAliveTimeout = 5_000;
  server.listen(80, '169.254.169.254', () => process.stdout.write('ready\n'));
}

function serveEcho(port: number): void {
  const server = createServer((req, res) => send(res, 200, (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')));
  server.listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
}

// Run only as a program, never when a test imports metadata().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [kind, arg] = process.argv.slice(2);
  if (kind === 'imds' && arg) serveImds(arg);
  else if (kind === 'echo' && arg) serveEcho(Number(arg));
  else {
    process.stderr.write('usage: lab-server.ts imds <state-file> | echo <port>\n');
    process.exit(1);
  }
}
