import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventRulesFromTemplate } from '#local/eventbridge/rules';
import { type CfnTemplate, packageStack, propertiesOf } from '#local/stack/package';
import { functionLogicalId, readStackSource } from '#local/stack/source';

/** `${name}` as the Framework writes a variable. */
const variable = (name: string) => `\${${name}}`;

const byId = <T extends { logicalId: string }>(rules: T[]) =>
  [...rules].sort((a, b) => a.logicalId.localeCompare(b.logicalId));

describe('Function: readStackSource', () => {
  let template: CfnTemplate;
  beforeAll(() => {
    // Shared with the stack checks: packaged once per test run (~15 s when this file runs alone).
    template = packageStack().template;
  });

  it('reads the same EventBridge rules, patterns and targets as the packaged template has', () => {
    expect(byId(readStackSource().rules)).toEqual(byId(eventRulesFromTemplate(template)));
  });

  it('reads the job queue and its redrive as the template declares them', () => {
    const { jobQueue } = readStackSource();
    const queue = propertiesOf(template, 'JobQueue');
    expect(jobQueue.name).toBe(queue.QueueName);
    expect(jobQueue.visibilityTimeoutMs).toBe(Number(queue.VisibilityTimeout) * 1000);
    expect(jobQueue.maxReceiveCount).toBe((queue.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount);
    expect(jobQueue.deadLetterQueueName).toBe(propertiesOf(template, 'JobDeadLetterQueue').QueueName);
  });

  it('reads the reconcile event source (batch size, MaximumConcurrency) and the timeouts the template has', () => {
    const source = readStackSource();
    const mapping = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(source.reconcileBatchSize).toBe(mapping?.Properties?.BatchSize);
    expect(source.reconcileMaxConcurrency).toBe(
      (mapping?.Properties?.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
    );
    expect(source.timeoutsMs.reconcile).toBe(Number(propertiesOf(template, 'ReconcileLambdaFunction').Timeout) * 1000);
    expect(source.timeoutsMs.intake).toBe(Number(propertiesOf(template, 'IntakeLambdaFunction').Timeout) * 1000);
    expect(readStackSource({ params: { reconcileConcurrency: '8' } }).reconcileMaxConcurrency).toBe(8);
  });

  it('applies parameter overrides like --param does', () => {
    const source = readStackSource({ params: { countTagKey: 'eips', guestDocumentName: 'my-guest-sync' } });
    const detail = (id: string) =>
      source.rules.find((r) => r.logicalId === id)?.pattern?.detail as Record<string, string[]> | undefined;
    expect(detail('InstanceTagChangeRule')?.['changed-tag-keys']).toEqual(['eips', 'eip-pool', 'eip-on-stop']);
    expect(detail('GuestCommandStatusRule')?.['document-name']).toEqual(['my-guest-sync']);
    expect(source.params.countTagKey).toBe('eips');
  });

  it('names functions the way the Framework does', () => {
    expect(['intake', 'commandStatus', 'my-fn', 'a_b'].map(functionLogicalId)).toEqual([
      'IntakeLambdaFunction',
      'CommandStatusLambdaFunction',
      'MyDashfnLambdaFunction',
      'AUnderscorebLambdaFunction',
    ]);
  });

  describe('bad input', () => {
    const root = mkdtempSync(join(tmpdir(), 'eipa-source-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('refuses a variable it cannot resolve instead of routing by a wrong pattern', () => {
      writeFileSync(
        join(root, 'serverless.yml'),
        `service: s\nfunctions: {}\nresources:\n  - ${variable('file(events.yml)')}\n`,
      );
      writeFileSync(
        join(root, 'events.yml'),
        `Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: ` +
          `["${variable('param:nope')}"]\n`,
      );
      expect(() => readStackSource({ root })).toThrow(`events.yml: no value for ${variable('param:nope')}`);
    });

    it('refuses a Framework variable source it does not model, but keeps CloudFormation Fn::Sub variables', () => {
      writeFileSync(
        join(root, 'events.yml'),
        `Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: ` +
          `["${variable('opt:source')}"]\n` +
          `  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub ` +
          `"q-${variable('AWS::Region')}.fifo"\n`,
      );
      expect(() => readStackSource({ root })).toThrow(
        `events.yml: the local deployment cannot resolve ${variable('opt:source')}`,
      );
    });
  });
});
