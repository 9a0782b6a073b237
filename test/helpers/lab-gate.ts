/**
 * Decides whether lab tests run: with root they run; without, they are skipped with a loud warning — unless
 * `EIP_AUTOPILOT_LAB_REQUIRED=1` (set by .ci/run), where a missing lab is a failure.
 */
import { describe, it } from 'vitest';
import { labAvailable } from '#local/lab/vpc-lab';

const avail = labAvailable();
const required = process.env.EIP_AUTOPILOT_LAB_REQUIRED === '1';

/** `describe` for suites that need the VPC lab. */
export function describeLab(name: string, body: () => void): void {
  if (avail.ok) {
    describe(name, body);
    return;
  }
  if (required) {
    describe(name, () => {
      it('needs the VPC lab (EIP_AUTOPILOT_LAB_REQUIRED=1)', () => {
        throw new Error(`VPC lab unavailable: ${avail.why}`);
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPING "${name}": ${avail.why}. Run as root (sudo npm test) to exercise the VPC lab. !!!\n`);
  describe.skip(name, body);
}
