/**
 * The booted guests' root filesystem: ONE Debian 12 tree with systemd and every network manager the stacks use,
 * built by `mmdebstrap` from the Debian mirror this machine's own apt sources name (read at run time: no mirror host is
 * ever written into the repository), cached outside the repository under /var/cache/eip-autopilot/ and rebuilt when
 * missing or when the package list or the build recipe change (the cache key hashes both).
 *
 * Every manager is installed and disabled; a stack enables its own (see stacks.ts). Each guest boots from an
 * overlay of the extracted tree, so guests never see each other's writes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where rootfs tarballs and their extracted trees live (never inside the repository). */
export const CACHE_DIR = process.env.EIP_AUTOPILOT_ROOTFS_CACHE ?? '/var/cache/eip-autopilot';

const SUITE = 'bookworm';

/** Debian packages of the guest image (minbase + these). */
export const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'udev',
  'iproute2',
  'curl',
  'jq',
  'procps',
  'ifupdown',
  'isc-dhcp-client',
  'netplan.io',
  'network-manager',
  'amazon-ec2-net-utils',
];

/** Units every installed manager enables by default: the image disables them all, a stack enables its own. */
const DISABLED_UNITS = [
  'networking.service',
  'NetworkManager.service',
  'NetworkManager-wait-online.service',
  'NetworkManager-dispatcher.service',
  'systemd-networkd.service',
  'systemd-networkd.socket',
  'systemd-networkd-wait-online.service',
  'systemd-resolved.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'fstrim.timer',
  'systemd-tmpfiles-clean.timer',
];

/**
 * Runs inside mmdebstrap's customize hook (`$1` is the new root). Boot-time fixes the guests need in a container are
 * installed here; stacks.ts documents why each exists.
 */
const CUSTOMIZE = `set -e
root="$1"
chroot "$root" systemctl disable ${DISABLED_UNITS.join(' ')} 2>/dev/null || true
chroot "$root" systemctl mask systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \\
  systemd-udev-trigger.service systemd-udev-settle.service getty@tty1.service console-getty.service
rm -f "$root/etc/network/interfaces.d/"* "$root/etc/netplan/"* 2>/dev/null || true
printf 'auto lo\\niface lo inet loopback\\n' > "$root/etc/network/interfaces"
echo guest > "$root/etc/hostname"
: > "$root/etc/machine-id"
`;

/** The cache key: package list + recipe. */
export function rootfsKey(): string {
  return createHash('sha256')
    .update(JSON.stringify({ SUITE, PACKAGES, DISABLED_UNITS, CUSTOMIZE }))
    .digest('hex')
    .slice(0, 16);
}

interface SourceEntry {
  uris: string;
  suites: string[];
  components: string;
  signedBy?: string;
}

/** Enabled binary (`deb`) entries of apt sources text: deb822 (`.sources`) or one-line (`.list`). */
export function parseSources(text: string, deb822: boolean): SourceEntry[] {
  const entries: SourceEntry[] = [];
  if (deb822) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of stanza.split('\n')) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
      }
      if (fields.get('enabled') === 'no' || !(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
      const uris = fields.get('uris');
      const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
      if (!uris || !suites.length) continue;
      entries.push({ uris, suites, components: fields.get('components') ?? 'main', signedBy: fields.get('signed-by') });
    }
    return entries;
  }
  for (const line of text.split('\n')) {
    const m = /^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
    if (m?.[2] && m[3] && m[4]) entries.push({ uris: m[2], suites: [m[3]], components: m[4] });
  }
  return entries;
}

/**
 * The guest's apt sources, as one deb822 text, from the host's entries: those for the guest's suite (`bookworm`,
 * `bookworm-updates`, `bookworm-security`), or, on a host of another Debian release, the same mirrors with that
 * release's codename replaced by the guest's. Throws when there is none: the harness never guesses a mirror.
 */
export function guestSources(entries: SourceEntry[]): string {
  let picked = entries
    .map((e) => ({ ...e, suites: e.suites.filter((s) => s === SUITE || s.startsWith(`${SUITE}-`)) }))
    .filter((e) => e.suites.length);
  if (!picked.length) {
    picked = entries
      .map((e) => ({
        ...e,
        suites: e.suites
          .map((s) => /^([a-z]+)(-updates|-security)?$/.exec(s))
          .filter((m): m is RegExpExecArray => !!m && m[1] !== 'stable' && m[1] !== 'sid')
          .map((m) => `${SUITE}${m[2] ?? ''}`),
      }))
      .filter((e) => e.suites.length && /debian/.test(e.uris));
  }
  if (!picked.length) throw new Error(`no Debian apt source in /etc/apt/sources.list{,.d} to build ${SUITE} from`);
  return `${picked
    .map((e) =>
      [
        'Types: deb',
        `URIs: ${e.uris}`,
        `Suites: ${e.suites.join(' ')}`,
        `Components: ${e.components}`,
        ...(e.signedBy ? [`Signed-By: ${e.signedBy}`] : []),
      ].join('\n'),
    )
    .join('\n\n')}\n`;
}

/** The host's apt sources entries (/etc/apt/sources.list and sources.list.d/*.list|*.sources). */
export function hostSources(): SourceEntry[] {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) files.push(join('/etc/apt/sources.list.d', f));
    }
  }
  return files.flatMap((f) => parseSources(readFileSync(f, 'utf8'), f.endsWith('.sources')));
}

/**
 * The extracted root tree for the current key, built (≈ 2 min, ≈ 300 MB) and extracted when missing. Safe to call
 * from several processes at once: one builds under a lock, the others wait and reuse it.
 */
export function ensureRootfs(log: (line: string) => void = () => undefined): string {
  const key = rootfsKey();
  const tree = join(CACHE_DIR, `rootfs-${key}`);
  const tarball = `${tree}.tar`;
  if (existsSync(join(tree, '.complete'))) return tree;
  {
    // Build and extract under one exclusive lock held by a shell, so concurrent test files wait for the first one.
    const script = `
set -e
exec 9>"$LOCK"
flock 9
if [ -e "$TREE/.complete" ]; then exit 0; fi
if [ ! -s "$TARBALL" ]; then
  rm -f "$TARBALL.tmp"
  mmdebstrap --quiet --format=tar --variant=minbase --include="$INCLUDE" \\
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \\
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \\
    --customize-hook="sh $CUSTOMIZE_FILE \\"\\$1\\"" "$SUITE" "$TARBALL.tmp" "$SOURCES_FILE" >&2
  mv "$TARBALL.tmp" "$TARBALL"
fi
rm -rf "$TREE.tmp"
mkdir -p "$TREE.tmp"
tar -C "$TREE.tmp" -xf "$TARBALL"
touch "$TREE.tmp/.complete"
mv "$TREE.tmp" "$TREE"
`;
    mkdirSync(CACHE_DIR, { recursive: true });
    const work = join(CACHE_DIR, `build-${key}-${process.pid}`);
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'customize.sh'), CUSTOMIZE);
    writeFileSync(join(work, 'guest.sources'), guestSources(hostSources()));
    log(`rootfs: building or waiting for ${tree}`);
    try {
      execFileSync('bash', ['-c', script], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          LOCK: join(CACHE_DIR, `rootfs-${key}.build.lock`),
          TREE: tree,
          TARBALL: tarball,
          INCLUDE: PACKAGES.join(','),
          SUITE,
          CUSTOMIZE_FILE: join(work, 'customize.sh'),
          SOURCES_FILE: join(work, 'guest.sources'),
        },
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (!existsSync(join(tree, '.complete'))) throw new Error(`rootfs build did not produce ${tree}`);
    return tree;
  }
}

/** Deletes cached trees and tarballs of other keys (old recipes). */
export function pruneRootfs(): void {
  const key = rootfsKey();
  if (!existsSync(CACHE_DIR)) return;
  for (const entry of readdirSync(CACHE_DIR)) {
    const m = /^rootfs-([0-9a-f]{16})(\.tar)?$/.exec(entry);
    if (m && m[1] !== key) rmSync(join(CACHE_DIR, entry), { recursive: true, force: true });
  }
}

// `tsx local/lab/booted/rootfs.ts`: build (or find) the tree and print its path.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/local\//, '/local/'))) {
  console.log(ensureRootfs((l) => console.error(l)));
}
