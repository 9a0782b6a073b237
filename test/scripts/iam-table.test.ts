import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, packageStack } from '#local/stack/package';
import { iamRows, README_PATH, renderIamTable, tableBlock, updateReadme, whyFromReadme } from '#scripts/iam-table';

let template: CfnTemplate;
const readme = readFileSync(README_PATH, 'utf8');

beforeAll(() => {
  template = packageStack().template;
});

describe('Script: iam-table (README "IAM: what each function may do")', () => {
  it('README table matches the packaged template (run `npm run docs:iam` after editing infra/iam.yml)', () => {
    expect(tableBlock(readme)).toBe(renderIamTable(template, whyFromReadme(readme)));
  });

  it('has one row per statement of every role, each with its why', () => {
    const statements = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Role')
      .flatMap((r) => (r.Properties?.Policies as { PolicyDocument: { Statement: unknown[] } }[]) ?? [])
      .flatMap((p) => p.PolicyDocument.Statement);
    const rows = iamRows(template);
    // Rows merge statements shared by several roles: count the roles each row stands for.
    const roles = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Role').length;
    const covered = rows.reduce((n, r) => n + (r.roles === 'all' ? roles : r.roles.split(', ').length), 0);
    expect(covered).toBe(statements.length);
    const why = whyFromReadme(readme);
    for (const r of rows) expect(why.get(`${r.roles}/${r.sid}`), `${r.roles} ${r.sid}`).toBeTruthy();
  });

  it('regenerates a drifted table and keeps the why texts', () => {
    const drifted = readme.replace(/(`ec2:ReleaseAddress`\s*\|\s*)`elastic-ip\/\*`/, '$1`*`');
    expect(drifted).not.toBe(readme);
    expect(updateReadme(drifted, template)).toBe(readme);
  });
});
