/**
 * Bundle benchmark: packages the stack (`npm run package`), then for each function prints the zip size (and how
 * much of it is code vs source map: none since maps stay out of the zip) and the cold `import` time of its bundled
 * handler, measured in a fresh Node.js process per run (median and minimum of RUNS: the machine is shared, so the
 * minimum is the better estimate of the undisturbed cost).
 * Targets: reconcile ≤ 200 ms, intake ≤ 140 ms, zip ≤ 300 KB. Prints only; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageStack } from '#local/stack/package';
import { readZip } from '#local/stack/zip';

const RUNS = 5;
const TARGET_MS: Record<string, number> = { reconcile: 200, intake: 140 };
const TARGET_ZIP_KB = 300;

// What the handlers read at cold start (src/config.ts); values are placeholders, no call is made at import time.
const HANDLER_ENV = {
  AWS_REGION: 'us-east-1',
  JOB_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/eip-autopilot-dev-jobs.fifo',
  GUEST_DOCUMENT_NAME: 'eip-autopilot-guest-sync',
  COUNT_TAG_KEY: 'eip-count',
  POOL_TAG_KEY: 'eip-pool',
  ON_STOP_TAG_KEY: 'eip-on-stop',
  DRY_RUN: 'false',
  POWERTOOLS_SERVICE_NAME: 'eip-autopilot',
  POWERTOOLS_METRICS_NAMESPACE: 'EipAutopilot',
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Milliseconds to `import()` the module at `file` in a fresh node process (node's own startup excluded). */
function importTime(file: string): number {
  const script =
    `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
    `process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...HANDLER_ENV },
  });
  if (run.status !== 0) throw new Error(`import of ${file} failed: ${run.stderr}`);
  return Number(run.stdout);
}

/** Package, then print the table. */
export async function run(): Promise<void> {
  const started = Date.now();
  const { zips } = packageStack({ force: true });
  console.log(`bundles: npm run package took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const work = mkdtempSync(join(tmpdir(), 'eip-bundles-'));
  try {
    const rows: string[][] = [];
    for (const [name, zip] of Object.entries(zips)) {
      let codeBytes = 0;
      let mapBytes = 0;
      let handler: string | undefined;
      for (const entry of readZip(zip)) {
        const target = join(work, name, entry.name);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, entry.read());
        if (entry.name.endsWith('.map')) mapBytes += entry.compressedSize;
        else codeBytes += entry.compressedSize;
        if (/handler\.m?js$/.test(entry.name)) handler = target;
      }
      if (!handler) throw new Error(`${zip} holds no handler bundle`);
      const file = handler;
      const times = Array.from({ length: RUNS }, () => importTime(file));
      const target = TARGET_MS[name];
      rows.push([
        name,
        (statSync(zip).size / 1024).toFixed(0),
        (codeBytes / 1024).toFixed(0),
        (mapBytes / 1024).toFixed(0),
        median(times).toFixed(0),
        Math.min(...times).toFixed(0),
        `${target ? `≤ ${target} ms, ` : ''}zip ≤ ${TARGET_ZIP_KB} KB`,
      ]);
    }
    const header = ['function', 'zip KB', 'code KB', 'map KB', 'import ms (median)', 'import ms (min)', 'target'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
    console.log(`bundles: cold import = median of ${RUNS} fresh node processes; code/map KB = compressed in the zip`);
    console.log(line(header));
    for (const row of rows) console.log(line(row));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
