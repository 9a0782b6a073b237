/**
 * `npm run bench`: every benchmark of the project, one after another, each printing its own table.
 * Benchmarks count what does not vary (API calls, kernel writes, bytes) and time what must be timed; they assert
 * nothing (the machines are shared and noisy). Run one with `npm run bench -- <name>` (cloud, guest, bundles, region,
 * fleet).
 */
import * as bundles from './bundles';
import * as cloud from './cloud';
import * as fleet from './fleet';
import * as guest from './guest';
import * as region from './region';

// The SDK's notice about its future Node 22 floor is noise in a table of numbers (dev runs Node 20: README).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const benches: Record<string, { run: () => Promise<void> }> = { cloud, guest, bundles, region, fleet };

// Names only: options such as `--instances 1000` belong to the benchmark (bench/fleet.ts reads process.argv).
const wanted = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  console.log(`\n== bench ${name}`);
  await benches[name]?.run();
}
