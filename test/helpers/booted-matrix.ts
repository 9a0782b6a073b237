/**
 * The booted-guest matrix as vitest suites: one suite per stack (one file each, so stacks boot in parallel), one test
 * per event, in order, sharing the stack's guest. Cells that fail today because of a known guest-sync defect are
 * `it.fails` (see test/guest/booted/known-defects.ts): they flip to failing when the defect is fixed, and must then
 * become plain `it`. Each suite writes its cells into the run's results directory for the matrix in docs/guest.md
 * (test/guest/booted/global-setup.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootedAvailable } from '#local/lab/booted/guest';
import { StackSession, stackEvents } from '#local/lab/booted/matrix';
import { stack } from '#local/lab/booted/stacks';
import { KNOWN_DEFECTS } from '../guest/booted/known-defects';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where each stack's suite writes its cells (a fresh directory per run, from the global setup). */
    matrixResults: string;
  }
}

const avail = bootedAvailable();
const required = process.env.EIP_AUTOPILOT_LAB_REQUIRED === '1';

/** The suite of one stack. */
export function matrixSuite(stackId: string): void {
  const st = stack(stackId);
  const name = `Booted guest: ${stackId} (${st.stands})`;
  if (!avail.ok) {
    if (required) {
      describe(name, () => {
        it('needs booted guests (EIP_AUTOPILOT_LAB_REQUIRED=1)', () => {
          throw new Error(`booted guests unavailable: ${avail.why}`);
        });
      });
    } else {
      console.warn(`\n!!! SKIPPING "${name}": ${avail.why}. Run as root to boot the guests. !!!\n`);
    }
    return;
  }
  describe(name, () => {
    let session: StackSession | undefined;
    beforeAll(async () => {
      session = await StackSession.create(stackId);
    });
    afterAll(async () => {
      if (!session) return;
      const dir = inject('matrixResults');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${stackId}.json`), JSON.stringify(session.results));
      await session.destroy();
    });
    for (const event of stackEvents(st)) {
      const known = KNOWN_DEFECTS[stackId]?.[event];
      if (known?.tolerate === 'removals') {
        // The failure does not happen on every run: the cell must still be repaired (every EIP egresses again), and
        // the matrix shows it FAIL whenever the removal (or a failed run) happened.
        it(`${event} — tolerated today: ${known.defect}`, async () => {
          if (!session) throw new Error('no session');
          const cell = await session.run(event);
          expect(cell.repaired, cell.note).toBe(true);
        });
        continue;
      }
      const test = known ? it.fails : it;
      test(`${event}${known ? ` — fails today: ${known.defect}` : ''}`, async () => {
        if (!session) throw new Error('no session');
        const cell = await session.run(event);
        expect(cell.pass, cell.note).toBe(true);
      });
    }
  });
}
