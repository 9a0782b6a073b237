import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, packageStack, STACK_ROOT } from '#local/stack/package';

const require = createRequire(import.meta.url);
const { splitVariableSyntax } = require('../../infra/resolvers.cjs') as {
  splitVariableSyntax: (text: string) => string[];
};

// Shell text written with %{ for ${ (keeps the linter from reading them as broken JS template literals).
const shell = (text: string): string => text.replaceAll('%{', '$' + '{');

describe('Function: splitVariableSyntax (infra/resolvers.cjs)', () => {
  it.each([
    ['no variables', 'echo hello\n'],
    ['bash expansions', 'echo "%{HOME}" %{x:-y} %{#arr[@]}\n'],
    ['back to back', '%{a}%{b}$%{c}'],
    ['a trailing dollar', 'cost: 5$'],
    ['nested', '%{a:-%{b}}'],
  ])('cuts %s into pieces without "$ {" that join back to the text', (_name, written) => {
    const text = shell(written);
    const pieces = splitVariableSyntax(text);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) expect(piece).not.toContain(shell('%{'));
  });
});

describe('Packaged guest document', () => {
  let template: CfnTemplate;

  beforeAll(() => {
    template = packageStack().template;
  });

  function content(): string {
    const value = template.Resources.GuestDocument?.Properties?.Content as { 'Fn::Join': [string, string[]] };
    const [separator, pieces] = value['Fn::Join'];
    return pieces.join(separator);
  }

  it('carries ssm-documents/guest-sync.yaml byte for byte', () => {
    expect(content()).toBe(readFileSync(join(STACK_ROOT, 'ssm-documents', 'guest-sync.yaml'), 'utf8'));
  });

  it('runs ssm-documents/guest-sync.sh byte for byte', () => {
    const document = parse(content()) as {
      schemaVersion: string;
      mainSteps: { action: string; inputs: { runCommand: string | string[] } }[];
    };
    expect(document.schemaVersion).toBe('2.2');
    const step = document.mainSteps.find((s) => s.action === 'aws:runShellScript');
    const runCommand = step?.inputs.runCommand;
    // aws:runShellScript writes the runCommand lines, joined by newlines, into one script file.
    const script = Array.isArray(runCommand) ? runCommand.join('\n') : runCommand;
    const tested = readFileSync(join(STACK_ROOT, 'ssm-documents', 'guest-sync.sh'), 'utf8');
    expect(script === tested || script === tested.replace(/\n$/, ''), 'script differs from guest-sync.sh').toBe(true);
  });

  it('is a YAML Command document for EC2 instances, updated in place as a new version', () => {
    expect(template.Resources.GuestDocument?.Properties).toMatchObject({
      Name: 'eip-autopilot-guest-sync',
      DocumentType: 'Command',
      DocumentFormat: 'YAML',
      TargetType: '/AWS::EC2::Instance',
      UpdateMethod: 'NewVersion',
    });
  });

  it('is run by State Manager on every instance with the count tag key, at registration and on a schedule', () => {
    expect(template.Resources.GuestSyncAssociation?.Properties).toMatchObject({
      Name: { Ref: 'GuestDocument' },
      Targets: [{ Key: 'tag-key', Values: ['eip-count'] }],
      Parameters: { Action: ['install'] },
      ScheduleExpression: 'rate(30 minutes)',
    });
  });

  // CreateAssociation: "This parameter isn't supported for rate expressions." The schedule is a rate by default
  // (guestSyncRate), so the property must be absent, not false.
  it('sets no ApplyOnlyAtCronInterval next to a rate expression', () => {
    const association = template.Resources.GuestSyncAssociation?.Properties ?? {};
    expect(String(association.ScheduleExpression)).toMatch(/^rate\(/);
    expect(association).not.toHaveProperty('ApplyOnlyAtCronInterval');
  });
});
