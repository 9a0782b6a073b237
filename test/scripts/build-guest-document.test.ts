import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildGuestDocument,
  DOCUMENT_PATH,
  MAX_DOCUMENT_BYTES,
  PARAMETERS,
  SCRIPT_PATH,
} from '#scripts/build-guest-document';

const script = readFileSync(SCRIPT_PATH, 'utf8');
const committed = readFileSync(DOCUMENT_PATH, 'utf8');

interface Doc {
  schemaVersion: string;
  parameters: Record<string, { allowedPattern: string; interpolationType: string; default: string }>;
  mainSteps: Array<{ action: string; precondition: unknown; inputs: { runCommand: string[] } }>;
}

describe('Script: build-guest-document', () => {
  it('committed guest-sync.yaml matches guest-sync.sh (run `npm run build:document` after editing the script)', () => {
    expect(committed).toBe(buildGuestDocument(script));
  });

  it('carries the script byte for byte in one Linux aws:runShellScript step of a 2.2 document', () => {
    const doc = parse(committed) as Doc;
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.mainSteps).toHaveLength(1);
    const [step] = doc.mainSteps;
    expect(step?.action).toBe('aws:runShellScript');
    expect(step?.precondition).toEqual({ StringEquals: ['platformType', 'Linux'] });
    expect(`${step?.inputs.runCommand.join('\n')}\n`).toBe(script);
  });

  it('stays under the 64 KB document limit', () => {
    expect(Buffer.byteLength(committed)).toBeLessThan(MAX_DOCUMENT_BYTES);
  });

  it('passes every parameter as an SSM_<name> environment variable the script reads, constrained by a pattern', () => {
    const doc = parse(committed) as Doc;
    for (const [name, p] of Object.entries(doc.parameters)) {
      expect(p.interpolationType).toBe('ENV_VAR');
      expect(new RegExp(p.allowedPattern).test(p.default)).toBe(true);
      expect(script).toContain(`SSM_${name}`);
    }
    const read = new Set([...script.matchAll(/\bSSM_([A-Za-z]+)/g)].map((m) => m[1]));
    expect([...read].sort()).toEqual(Object.keys(PARAMETERS).sort());
  });

  it.each([
    ['Action', 'sync; rm -rf /'],
    ['DryRun', 'yes'],
    ['VerifyUrl', 'http://x/$(reboot)'],
    ['VerifyUrl', 'file:///etc/shadow'],
    ['VerifyUrl', "http://a/'b"],
    ['Output', 'json\nx'],
  ])('rejects %s=%j', (name, value) => {
    expect(new RegExp(PARAMETERS[name]?.allowedPattern ?? '').test(value)).toBe(false);
  });

  it('refuses a script that contains SSM {{ }} syntax', () => {
    expect(() => buildGuestDocument('echo {{ Action }}\n')).toThrow(/must not contain/);
  });
});
