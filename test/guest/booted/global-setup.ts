/**
 * Before the matrix: the rootfs is built once (or found in the cache) and old results are cleared. After it: when
 * every stack reported, the matrix replaces the marked section of docs/guest.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bootedAvailable } from '#local/lab/booted/guest';
import { type CellResult, matrixMarkdown, TARGETS } from '#local/lab/booted/matrix';
import { ensureRootfs } from '#local/lab/booted/rootfs';
import { STACKS } from '#local/lab/booted/stacks';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DOC = join(ROOT, 'docs', 'guest.md');
const START = '<!-- booted-matrix:start (written by test/guest/booted/global-setup.ts) -->';
const END = '<!-- booted-matrix:end -->';

export default function setup(project: TestProject): () => void {
  const started = Date.now();
  const resultsDir = mkdtempSync(join(tmpdir(), 'eipa-matrix-'));
  project.provide('matrixResults', resultsDir);
  if (bootedAvailable().ok) {
    const t = Date.now();
    const tree = ensureRootfs((l) => console.log(l));
    console.log(`rootfs ready in ${((Date.now() - t) / 1000).toFixed(0)} s: ${tree}`);
  }
  return () => {
    const results: CellResult[] = [];
    const files = readdirSync(resultsDir).filter((f) => f.endsWith('.json'));
    for (const f of files) results.push(...(JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as CellResult[]));
    rmSync(resultsDir, { recursive: true, force: true });
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(`booted matrix: ${files.length} stacks, ${results.length} cells, ${minutes} min`);
    // Only a complete run rewrites the documented matrix (a filtered run would drop stacks from it).
    if (files.length !== STACKS.length || !existsSync(DOC)) return;
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(START);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) return;
    const parallel = process.env.EIP_AUTOPILOT_BOOTED_PARALLEL ?? 4;
    const meta =
      `Last full run: ${new Date().toISOString().slice(0, 10)}, ${minutes} min for ${STACKS.length} stacks ` +
      `(${parallel} in parallel). Each cell: pass/FAIL and the seconds from the ` +
      `event until every EIP egressed again (targets: ≤ ${TARGETS.repairMs / 1000} s after a manager event, ` +
      `attach/detach or boot; ≤ ${TARGETS.timerMs / 1000} s for \`timer\`; \`boot\` shows the boot time; ` +
      '`no-change` must make 0 kernel writes, as reported and as seen by `ip monitor`).';
    const table = matrixMarkdown(results, STACKS, meta);
    writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n\n${table}\n\n${doc.slice(b)}`);
    // The repository's formatter has the last word on the Markdown (lint checks it).
    execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', DOC], { stdio: 'ignore' });
  };
}
