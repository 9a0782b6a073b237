import { describe, expect, it } from 'vitest';
import { DOCUMENT, type World } from '#local/world';
import { worldsPerTest } from '../helpers/worlds';

const makeWorld = worldsPerTest();
let world: World | undefined;

async function sendOther(w: World, instanceId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await w.region.ssm('SendCommand', {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [instanceId],
      Parameters: { commands: ['true'] },
    });
  }
}

describe('Function: ssmAdapter', () => {
  describe('Method: latestGuestInvocation', () => {
    // A filtered ListCommandInvocations pages before it filters: newer invocations of other documents can fill the
    // first pages, which come back empty with a NextToken.
    it('follows NextToken past empty filtered pages to our newest invocation', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.micro', {});
      await world.region.ssm('SendCommand', { DocumentName: DOCUMENT, InstanceIds: [id] });
      await sendOther(world, id, 120);
      await world.region.idle();
      world.mark();
      expect(await world.deps.ssm.latestGuestInvocation(id, DOCUMENT)).toBe('Success');
      expect(world.since().reads).toEqual(Array(3).fill('ListCommandInvocations'));
    });

    it('reads one page when the first holds the answer, and stops after a bounded number of pages', async () => {
      world = await makeWorld();
      const id = await world.launch('t3.micro', {});
      await world.region.ssm('SendCommand', { DocumentName: DOCUMENT, InstanceIds: [id] });
      await world.region.idle();
      world.mark();
      expect(await world.deps.ssm.latestGuestInvocation(id, DOCUMENT)).toBe('Success');
      expect(world.since().reads).toEqual(['ListCommandInvocations']);

      const other = await world.launch('t3.micro', {});
      await world.region.ssm('SendCommand', { DocumentName: DOCUMENT, InstanceIds: [other] });
      await sendOther(world, other, 600);
      await world.region.idle();
      world.mark();
      // Beyond the bound, "none": reconcile then re-sends the guest document, which is idempotent.
      expect(await world.deps.ssm.latestGuestInvocation(other, DOCUMENT)).toBeUndefined();
      expect(world.since().reads).toHaveLength(10);
    });
  });
});
