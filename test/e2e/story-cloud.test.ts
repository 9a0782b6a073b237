/**
 * The demo's story without guests (what `npm run demo` runs without root): the whole event-driven cloud half with the
 * real handlers over the wire; the SSM document is registered and accepted, and the region's default runner reports
 * success. Runs everywhere, lab or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '#local/deployment';
import { runStory, type StoryResult } from '#local/story';

describe('Story: the cloud half, no guests', () => {
  let d: Deployment;
  let story: StoryResult;

  beforeAll(async () => {
    d = await startDeployment({ guests: 'none' });
    story = await runStory(d);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('meets every step expectation and ends with no owned address', async () => {
    expect(story.steps.map((s) => [s.title, s.problems])).toEqual(story.steps.map((s) => [s.title, []]));
    expect(story.steps.map((s) => s.status)).toEqual([
      'ok 3/3',
      'ok 4/4',
      expect.stringMatching(/^error: .*capacity 4/),
      'ok 1/1',
      'ok 1/1',
    ]);
    expect(await d.ownedAddresses()).toEqual([]);
  });

  it('ran the guest document once per cloud change, with no guest to verify egress', () => {
    expect(d.region.executions.map((e) => e.env.SSM_Action)).toEqual(['sync', 'sync', 'sync']);
    expect(story.steps[0]?.rows.every((r) => r.egress === undefined)).toBe(true);
  });

  it('ran under IAM: every call of the functions evaluated against its packaged role, none refused', () => {
    const decisions = d.iam?.decisions ?? [];
    expect(decisions.filter((x) => !x.allowed)).toEqual([]);
    expect(new Set(decisions.map((x) => x.functionKey))).toEqual(new Set(['intake', 'reconcile', 'commandStatus']));
    // Release and detach + delete of our own ENI happened (step 4), so the conditions on owned resources held.
    const actions = new Set(decisions.map((x) => x.action));
    for (const a of ['ReleaseAddress', 'DetachNetworkInterface', 'DeleteNetworkInterface', 'DisassociateAddress'])
      expect(actions).toContain(a);
  });

  it('every status change came from the functions, in order', () => {
    expect(d.statusHistory(story.instanceId)).toEqual([
      'syncing 3/3',
      'ok 3/3',
      'syncing 4/4',
      'ok 4/4',
      'error: eip-count 5 exceeds t3.micro capacity 4 (2 ENIs x 2 IPv4)',
      'syncing 1/1',
      'ok 1/1',
    ]);
  });
});
