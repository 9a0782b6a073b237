/**
 * Guest sync benchmark: 64 private IPs over 4 ENIs in the VPC lab. Prints, for the first apply and for no-change
 * reruns, the script's own wall time (elapsedMs, from inside the guest), the wall time seen from here (including
 * `ip netns exec` and the lab's mount setup) and the number of kernel writes. Needs root; prints why when it cannot
 * run.
 */
import { fileURLToPath } from 'node:url';
import { eni, instance, sync } from '#local/lab/scenario';
import { createLab, labAvailable } from '#local/lab/vpc-lab';

interface Summary {
  ok: boolean;
  writes: number;
  added: string[];
  unchanged: number;
  elapsedMs: number | null;
}

async function timed(run: () => Promise<{ code: number; stdout: string; stderr: string }>) {
  const start = performance.now();
  const res = await run();
  const outside = performance.now() - start;
  if (res.code !== 0) throw new Error(`guest-sync failed (${res.code}): ${res.stderr}`);
  const summary = JSON.parse(res.stdout) as Summary;
  return { outside, summary };
}

export async function run(): Promise<void> {
  const avail = labAvailable();
  if (!avail.ok) {
    console.log(`bench guest: skipped (${avail.why})`);
    return;
  }
  // 4 ENIs × 16 IPs: eth0 plus three ENIs in two other subnets, so three get a routing table.
  const hosts = (from: number) => Array.from({ length: 16 }, (_, i) => from + i);
  const inst = instance(
    eni(1, { device: 0, subnet: 0, hosts: hosts(10) }),
    eni(2, { device: 1, subnet: 1, hosts: hosts(10) }),
    eni(3, { device: 2, subnet: 1, hosts: hosts(40) }),
    eni(4, { device: 3, subnet: 2, hosts: hosts(10).map((h) => h + 100) }),
  );
  const lab = await createLab();
  try {
    await lab.apply(inst);
    const rows: Array<[string, string, string, string]> = [];
    const first = await timed(() => sync(lab, ['--json']));
    rows.push(['first apply', String(first.summary.elapsedMs), first.outside.toFixed(0), String(first.summary.writes)]);
    const reruns = [];
    for (let i = 0; i < 5; i++) reruns.push(await timed(() => sync(lab, ['--json'])));
    const median = <T>(xs: T[], key: (x: T) => number) =>
      xs.map(key).sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    rows.push([
      'no-change rerun (median of 5)',
      String(median(reruns, (r) => r.summary.elapsedMs ?? 0)),
      median(reruns, (r) => r.outside).toFixed(0),
      String(Math.max(...reruns.map((r) => r.summary.writes))),
    ]);
    const ips = inst.enis.reduce((n, e) => n + e.privateIps.length, 0);
    console.log(
      `\nguest sync: ${ips} private IPs over ${inst.enis.length} ENIs (targets: first ≤ 500 ms, rerun ≤ 150 ms with ` +
        `0 writes)`,
    );
    console.log('| run | script ms | wall ms (incl. netns exec) | kernel writes |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } finally {
    await lab.destroy();
  }
}

// `npx tsx bench/guest.ts` runs it alone; `npm run bench` imports run().
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
