import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileInstance } from '#src/reconcile/reconcile';
import { context, fixture, lambdaEnv, lambdaWorld } from '../../helpers/lambda';
import type { World } from '#local/world';

let world: World;
let handler: (event: unknown, ctx: typeof context) => Promise<void>;

beforeAll(async () => {
  lambdaEnv();
  ({ world } = await lambdaWorld());
  const mod = await import('#functions/command-status/handler');
  handler = (event, ctx) => mod.handler(event as never, ctx) as Promise<never>;
});
afterAll(() => world.mocks.restore());

type Invocation = { detail: Record<string, unknown> } & Record<string, unknown>;

describe('Function: command-status handler', () => {
  it('records a failed guest run in the status tag', async () => {
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    await reconcileInstance(id, world.deps);
    await handler(fixture('ssm-command-invocation-status', id), context);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('guest failed: Failed (1/1)');
  });

  it('turns syncing into ok on success', async () => {
    const id = await world.launch('t3.medium', { 'eip-count': '2' });
    await reconcileInstance(id, world.deps);
    const event = fixture<Invocation>('ssm-command-invocation-status', id);
    await handler({ ...event, detail: { ...event.detail, status: 'Success' } }, context);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('ok 2/2');
  });

  it('ignores invocations of other documents', async () => {
    const id = await world.launch('t3.medium', { 'eip-count': '1' });
    await reconcileInstance(id, world.deps);
    const event = fixture<Invocation>('ssm-command-invocation-status', id);
    await handler({ ...event, detail: { ...event.detail, 'document-name': 'AWS-RunShellScript' } }, context);
    expect((await world.tags(id))['eip-autopilot:status']).toBe('syncing 1/1');
  });
});
