/**
 * The network stacks the booted guests run: each reproduces one distribution's layout with Debian 12's packages (only
 * Debian's archive is reachable here). A stack = files written into the guest's disk before its first boot, units
 * enabled, packages purged (the image has every manager installed), and the commands that are that manager's own
 * "reload/restart/re-apply" events.
 */
import type { LabInstance } from '../vpc-lab';
import type { GuestFiles } from './guest';

/** A manager's own event: a shell command run inside the guest that makes the manager re-apply its configuration. */
export interface ManagerEvent {
  id: string;
  command: string;
}

export interface Stack {
  id: string;
  /** The distribution layout it stands for. */
  stands: string;
  files(inst: LabInstance): GuestFiles;
  /** Units to enable (`systemctl enable` in the guest's disk before boot). */
  enable: string[];
  /** Packages to purge before boot (the image has every manager installed). */
  purge: string[];
  /** Line edits of packaged files (path in the guest, pattern, replacement), applied before boot. */
  edits?: Array<{ path: string; from: RegExp; to: string }>;
  events: ManagerEvent[];
}

const NETWORKD_UNITS = ['systemd-networkd.service', 'systemd-networkd.socket', 'systemd-networkd-wait-online.service'];
const NETUTILS = 'amazon-ec2-net-utils';

function eniName(i: number): string {
  return `eth${i}`;
}

const ifupdown: Stack = {
  id: 'ifupdown',
  stands: 'Debian ≤ 12 cloud images: ifupdown + isc-dhcp-client, eth0 only',
  files: () => ({
    '/etc/network/interfaces': 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n',
  }),
  enable: ['networking.service'],
  purge: [NETUTILS],
  events: [
    { id: 'restart networking', command: 'systemctl restart networking' },
    { id: 'ifdown;ifup eth0', command: 'ifdown eth0 && ifup eth0' },
  ],
};

const networkdPerEni: Stack = {
  id: 'networkd-per-eni',
  stands: 'systemd-networkd, one .network per ENI (matched by MAC), DHCP on every ENI at equal metrics',
  files: (inst) =>
    Object.fromEntries(
      inst.enis.map((e, i) => [
        `/etc/systemd/network/10-${eniName(i)}.network`,
        `[Match]\nMACAddress=${e.mac}\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
      ]),
    ),
  enable: NETWORKD_UNITS,
  purge: [NETUTILS],
  events: [
    { id: 'networkctl reload', command: 'networkctl reload' },
    { id: 'networkctl reconfigure eth0', command: 'networkctl reconfigure eth0' },
    { id: 'restart systemd-networkd', command: 'systemctl restart systemd-networkd' },
  ],
};

const networkdWildcard: Stack = {
  id: 'networkd-wildcard',
  stands: 'systemd-networkd, one wildcard file (Name=eth*), common on minimal images',
  files: () => ({
    '/etc/systemd/network/10-eth.network':
      '[Match]\nName=eth*\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n',
  }),
  enable: NETWORKD_UNITS,
  purge: [NETUTILS],
  events: [
    { id: 'networkctl reload', command: 'networkctl reload' },
    { id: 'restart systemd-networkd', command: 'systemctl restart systemd-networkd' },
  ],
};

const netplanEth0: Stack = {
  id: 'netplan-eth0',
  stands: "Ubuntu's cloud-init default: netplan, eth0 only, matched by MAC",
  files: (inst) => ({
    '/etc/netplan/50-cloud-init.yaml':
      `network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n      match:\n` +
      `        macaddress: ${inst.enis[0]?.mac}\n      set-name: eth0\n`,
  }),
  enable: NETWORKD_UNITS,
  purge: [NETUTILS],
  events: [{ id: 'netplan apply', command: 'netplan apply' }],
};

const netplanAll: Stack = {
  id: 'netplan-all',
  stands: 'netplan matching every ENI by MAC, with route metrics (cloud-init multi-NIC)',
  files: (inst) => ({
    '/etc/netplan/50-cloud-init.yaml': `network:\n  version: 2\n  ethernets:\n${inst.enis
      .map(
        (e, i) =>
          `    ${eniName(i)}:\n      dhcp4: true\n      dhcp4-overrides:\n        route-metric: ${100 * (i + 1)}\n` +
          `      match:\n        macaddress: ${e.mac}\n      set-name: ${eniName(i)}\n`,
      )
      .join('')}`,
  }),
  enable: NETWORKD_UNITS,
  purge: [NETUTILS],
  events: [{ id: 'netplan apply', command: 'netplan apply' }],
};

const networkManager: Stack = {
  id: 'networkmanager',
  stands: 'RHEL/Fedora: NetworkManager, a profile for eth0, an automatic DHCP profile for other NICs',
  files: () => ({
    '/etc/NetworkManager/system-connections/eth0.nmconnection':
      '[connection]\nid=System eth0\ntype=ethernet\ninterface-name=eth0\n\n' +
      '[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=ignore\n',
    '/etc/NetworkManager/conf.d/90-lab.conf': '[main]\nplugins=keyfile\n\n[logging]\nlevel=INFO\n',
  }),
  enable: ['NetworkManager.service', 'NetworkManager-dispatcher.service', 'NetworkManager-wait-online.service'],
  purge: [NETUTILS],
  events: [
    { id: 'nmcli con up eth0', command: "nmcli con up 'System eth0'" },
    { id: 'nmcli device reapply eth1', command: 'nmcli device reapply eth1 || nmcli device connect eth1' },
    { id: 'restart NetworkManager', command: 'systemctl restart NetworkManager' },
  ],
};

/**
 * amazon-ec2-net-utils' networkd file (and the template its per-ENI files are copied from) matches `Driver=ena ixgbevf
 * vif`; the lab's ENIs are veths, so here they match `Name=eth*` instead.
 */
const netutils: Stack = {
  id: 'netutils',
  stands: 'Amazon Linux 2023: amazon-ec2-net-utils on systemd-networkd',
  files: () => ({}),
  enable: NETWORKD_UNITS,
  purge: [],
  edits: ['/usr/lib/systemd/network/80-ec2.network', '/usr/share/amazon-ec2-net-utils/80-ec2.network'].map((path) => ({
    path,
    from: /^Driver=.*$/m,
    to: 'Name=eth*',
  })),
  events: [
    { id: 'networkctl reload', command: 'networkctl reload' },
    { id: 'restart systemd-networkd', command: 'systemctl restart systemd-networkd' },
  ],
};

/** Installed, not in use: its units and files exist, its udev rule is masked, nothing ever starts its units. */
const netutilsIdle: Stack = {
  ...ifupdown,
  id: 'netutils-idle',
  stands: 'ifupdown guest with amazon-ec2-net-utils installed but not in use (its udev rule masked)',
  files: (inst) => ({ ...ifupdown.files(inst), '/etc/udev/rules.d/99-vpc-policy-routes.rules': '@/dev/null' }),
  purge: [],
};

/** Every stack, in matrix order. */
export const STACKS: Stack[] = [
  ifupdown,
  networkdPerEni,
  networkdWildcard,
  netplanEth0,
  netplanAll,
  networkManager,
  netutils,
  netutilsIdle,
];

export function stack(id: string): Stack {
  const s = STACKS.find((x) => x.id === id);
  if (!s) throw new Error(`unknown stack ${id}`);
  return s;
}
