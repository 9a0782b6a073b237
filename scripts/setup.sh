#!/usr/bin/env bash
# One set-up for the README's two commands and for CI, so they cannot drift:
#   scripts/setup.sh && npm run demo
#   scripts/setup.sh && npm test
# As root it installs the Debian packages the demo and the tests need (Debian 12/13), then `npm ci`. Without root it
# installs nothing system-wide: it prints the exact command to run as root and exits 1 while a package is missing.
# `npm ci` runs only when package-lock.json changed since the last set-up (it deletes node_modules first).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, one place: add what a test or the demo needs here (by package name, never a mirror host).
packages=(
  iproute2   # ip netns, veth, policy routing: the VPC lab and the guest script
  nftables   # nft: the lab's VPC router (anti-spoofing, 1:1 NAT)
  curl       # the guest script's IMDS client; verified egress from inside a guest
  shellcheck # npm run lint checks the guest script
  dbus       # the system bus networkctl needs in the systemd-networkd guest test
  systemd    # systemd-networkd, networkctl (Debian 12: inside this package)
  util-linux # unshare: the lab's namespaces
  procps     # sysctl inside the lab's namespaces
  systemd-container # systemd-nspawn: the booted-guest matrix (npm run test:booted)
  mmdebstrap        # builds the booted guests' Debian root filesystem (cached in /var/cache/eip-autopilot)
  dnsmasq-base      # the lab's DHCP server per ENI for the booted guests
)
# Debian 13 ships systemd-networkd as its own package; Debian 12 has it inside systemd.
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [ "${ID:-}" = debian ] && { [ -z "${VERSION_ID:-}" ] || [ "${VERSION_ID%%.*}" -ge 13 ]; }; then
    packages+=(systemd-networkd)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  install=(apt-get install -y -qq --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, then run this script again:" >&2
    echo "  sudo apt-get update && sudo ${install[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  "${install[@]}"
fi

node_ok=$(node -e 'const [a, b] = process.versions.node.split(".").map(Number);
console.log(a > 20 || (a === 20 && b >= 19))' 2>/dev/null || echo false)
if [ "$node_ok" != true ]; then
  echo "setup: Node.js >= 20.19 is needed (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "  Debian's nodejs package is older: install Node 20 or newer from nodejs.org or your usual source." >&2
  exit 1
fi

stamp=node_modules/.setup-lock-sha256
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock" ]; then
  npm ci --no-audit --no-fund
  echo "$lock" >"$stamp"
fi
echo "setup: ready" >&2
