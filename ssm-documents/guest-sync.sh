#!/usr/bin/env bash
# eip-autopilot guest sync: make every private IPv4 that IMDS lists for this instance present in the kernel and
# egressing through its own ENI, so that each Elastic IP associated with one of them works.
#
# Usage: guest-sync.sh [--dry-run] [--install | --uninstall] [--verify URL] [--json] | --trigger SOURCE | --settle
#   (no option)   read IMDSv2, diff against the kernel, apply only the difference in one `ip -batch` call
#   --dry-run     print what would change (prefixed "would"), change nothing
#   --install     copy this script to /usr/local/sbin/eip-autopilot-guest-sync, install and enable
#                 eip-autopilot-guest-sync.service (after network-online) and .timer (at boot, then every 60 s), the
#                 repair hooks (see below), then sync; idempotent (a second --install writes nothing)
#   --uninstall   disable and remove the units, hooks and installed copy, and our kernel state (no IMDS needed)
#   --verify URL  after syncing, for each private IP that IMDS maps to an EIP (ipv4-associations/), fetch URL with
#                 `curl --interface <private ip>` and compare the body with the EIP; fail on any mismatch
#   --json        print one JSON summary on stdout (change lines go to stderr)
#   --trigger SRC what every hook runs (one command): start eip-autopilot-guest-sync-hook.service without blocking
#                 (or, without systemd, run --settle inline); always exits 0
#   --settle      sync, wait 2 s (EIP_AUTOPILOT_SETTLE), sync again: a manager often re-applies in several steps
#
# Under SSM (document eip-autopilot-guest-sync) the parameters arrive as environment variables, never as text:
#   SSM_Action=sync|install|uninstall   SSM_DryRun=true|false   SSM_VerifyUrl=<http(s) URL or empty>
#   SSM_Output=text|json
# Command-line options win over SSM_* variables. Other environment variables:
#   EIP_AUTOPILOT_IMDS_URL   IMDS base URL (default http://169.254.169.254; tests only)
#   EIP_AUTOPILOT_ENI_WAIT   seconds to wait for a hot-attached ENI to appear / get its device-number (default 15)
#   EIP_AUTOPILOT_NETUTILS_WAIT  seconds to wait for amazon-ec2-net-utils' refresh to settle (default 20)
#   EIP_AUTOPILOT_MANAGER    auto|ip|networkd|netutils: force the interface manager detection (default auto)
#   EIP_AUTOPILOT_SETTLE     seconds --settle waits between its two runs (default 2)
#   EIP_AUTOPILOT_HOOK_ROOT  prefix for the hook files --install writes under /etc (tests only; default none)
#
# What it changes, and what it owns:
#   - secondary addresses as <ip>/32 noprefixroute, recorded in /run/eip-autopilot/addresses ("<mac> <ip>");
#     only recorded addresses are ever removed. Primary addresses are added when missing, never removed.
#   - for every non-primary ENI: table = rule priority = 10000 + 100 * network-card + device-number (the numbering
#     of amazon-ec2-net-utils), holding the subnet route and "default via <subnet base + 1>", and one
#     "from <ip> lookup <table>" rule per address; our rules and routes carry protocol 234, and only rules/routes
#     with that protocol inside our priority/table range are ever removed. The primary ENI stays on the main table.
#   - interfaces whose MAC is not an ENI of this instance (lo, docker0, ...) are never touched.
#   - the primary ENI stays on the main table, except when the main table also has a default route through another
#     ENI (DHCP on every ENI): then its addresses get table 10000 and rules too, so they never leave through that ENI.
#   - every stack (plain kernel, ifupdown, systemd-networkd, netplan, NetworkManager) gets the same plain `ip` state;
#     we never reload or reconfigure a network manager (that drops DHCP leases). A manager that flushes our state
#     (ifdown/ifup, `nmcli con up`, `networkctl reconfigure`, `netplan apply`) fires a hook that repairs it in
#     seconds: NetworkManager dispatcher.d, ifupdown if-up.d, dhclient exit hook, a udev rule for ENI add/remove,
#     and eip-autopilot-guest-sync-hook.path on /run/systemd/netif/links (networkd and netplan).
#   - amazon-ec2-net-utils in use (its units active): it already does this job; we only verify (and start its
#     refresh), never write.
#
# Exit codes:
#   0 in sync (or changes applied, or --dry-run done)   1 usage error
#   2 IMDS unreachable, error or malformed answer: nothing was changed
#   3 an ENI listed in IMDS is not ready (no interface with its MAC, device-number still 0): nothing was changed
#   4 applying the change failed (ip -batch or networkd)  5 --verify found a mismatch
#   6 another run holds the lock for too long
#   7 prerequisite missing (not root, bash < 4.4, no ip/curl/flock)
#   8 amazon-ec2-net-utils manages the interfaces and its state still differs from IMDS after its refresh
#   9 run by SSM Run Command (AWS_SSM_INSTANCE_ID set) without SSM_Action: the agent is too old to pass parameters
#   10 layout not handled: right after applying, the kernel does not hold it (another manager undid it at once)

# aws:runShellScript may start this file with sh: re-execute under bash before using any bash syntax.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
# bash 4.4+ (empty arrays under `set -u`): AL2023, Ubuntu 18.04+, Debian 10+, RHEL 8+; not Amazon Linux 2 (EOL).
if [ "${BASH_VERSINFO[0]}" -lt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -lt 4 ]; }; then
  echo "guest-sync: error: bash >= 4.4 required, found $BASH_VERSION" >&2
  exit 7
fi
set -euo pipefail
# No globbing: IMDS answers are split into words, and a "*" from a broken IMDS must not expand to file names.
set -f
umask 022

readonly IMDS_URL="${EIP_AUTOPILOT_IMDS_URL:-http://169.254.169.254}"
readonly ENI_WAIT="${EIP_AUTOPILOT_ENI_WAIT:-15}"
readonly NETUTILS_WAIT="${EIP_AUTOPILOT_NETUTILS_WAIT:-20}"
readonly STATE_DIR=/run/eip-autopilot
readonly RECORD="$STATE_DIR/addresses"
readonly INSTALL_PATH=/usr/local/sbin/eip-autopilot-guest-sync
readonly UNIT_DIR=/etc/systemd/system
readonly UNIT=eip-autopilot-guest-sync
readonly HOOK_UNIT=eip-autopilot-guest-sync-hook
# Where hook files go (tests only: the lab must never write the host's /etc).
readonly HOOK_ROOT="${EIP_AUTOPILOT_HOOK_ROOT:-}"
readonly SETTLE="${EIP_AUTOPILOT_SETTLE:-2}"
readonly NETWORKD_DIR=/run/systemd/network
readonly DROPIN_NAME=90-eip-autopilot.conf
# Route/rule protocol number marking what we add (unassigned in /etc/iproute2/rt_protos).
readonly PROTO=234
readonly TABLE_BASE=10000
readonly TABLE_END=11600 # 16 network cards x 100 device numbers

DRY_RUN=false ACTION=sync VERIFY_URL="" OUTPUT=text DEV="" TRIGGER_SRC=""
TOKEN=""
# Microseconds since the epoch (bash >= 5; empty on older bash, and then elapsedMs is null).
readonly START_US=${EPOCHREALTIME//[^0-9]/}
declare -a ENI_MACS=() BATCH=() ADDED=() REMOVED=() VERIFY_JSON=()
declare -A ENI_DEV=() ENI_CARD=() ENI_ID=() ENI_IPS=() ENI_CIDR=() ENI_ASSOC=()
declare -A LINK_BY_MAC=() LINK_UP=() ADDR_PREFIX=() RECORDED=() NEW_RECORD=()
declare -A CUR_RULES=() CUR_ROUTES=() WANT_RULES=() WANT_ROUTES=() ENI_OF_DEV=()
declare -a MAIN_DEFAULT_DEVS=()
PRIMARY_MAC="" MANAGER=ip UNCHANGED=0 WRITES=0 VERIFY_FAILED=0 WAITING=""

usage() { sed -n '5,18p' "$0" | sed 's/^# \{0,1\}//' >&2; REPORTED=1; exit 1; }
note() { echo "guest-sync: $*" >&2; }
die() { local code=$1; shift; note "error: $*"; emit_json "$code" "$*"; REPORTED=1; exit "$code"; }
# No silent exit: a command failing where the script did not expect it still prints a reason (and the JSON line).
REPORTED="" FAIL_LINE=""
set -E
trap 'FAIL_LINE=${FAIL_LINE:-$LINENO}' ERR
on_exit() {
  local rc=$?
  [ "$rc" != 0 ] && [ -z "$REPORTED" ] || return 0
  note "error: unexpected failure exit=$rc line=${FAIL_LINE:-?}"
  emit_json "$rc" "unexpected failure line ${FAIL_LINE:-?}"
}
trap on_exit EXIT

# SSM keeps only the first 24,000 characters of stdout: print at most SHOW_MAX report lines (a first apply on an
# instance with hundreds of addresses has more), then say how many were left out.
readonly SHOW_MAX=200
SHOWN=0
say() {
  SHOWN=$((SHOWN + 1))
  [ "$SHOWN" -le "$SHOW_MAX" ] || return 0
  if [ "$OUTPUT" = json ]; then echo "$1" >&2; else echo "$1"; fi
}
say_hidden() {
  [ "$SHOWN" -gt "$SHOW_MAX" ] || return 0
  if [ "$OUTPUT" = json ]; then echo "... $((SHOWN - SHOW_MAX)) more lines not shown" >&2
  else echo "... $((SHOWN - SHOW_MAX)) more lines not shown"; fi
}

# One line per change: the kernel command in words, then why.
QUIET=""
change() {
  local kind=$1 text=$2 reason=$3
  if [ -n "$QUIET" ]; then QUIET_FIRST=${QUIET_FIRST:-$text}; return 0; fi
  if [ "$kind" = add ]; then ADDED+=("$text"); else REMOVED+=("$text"); fi
  if $DRY_RUN; then say "would $text reason=$reason"; else say "$text reason=$reason"; fi
}

# json_list ITEM...: a JSON array of at most JSON_MAX strings (the summary must fit SSM's output window; the
# *Count fields always carry the full numbers).
readonly JSON_MAX=100
json_list() {
  local out="" item n=0
  for item in "$@"; do
    n=$((n + 1))
    [ "$n" -le "$JSON_MAX" ] || break
    out+="${out:+,}\"${item//\"/\\\"}\""
  done
  printf '[%s]' "$out"
}

emit_json() {
  say_hidden
  [ "$OUTPUT" = json ] || return 0
  local code=$1 err=${2:-} verify="" elapsed=null now=${EPOCHREALTIME//[^0-9]/}
  verify=$(IFS=,; echo "${VERIFY_JSON[*]:0:$JSON_MAX}")
  [ -n "$START_US" ] && [ -n "$now" ] && elapsed=$(((now - START_US) / 1000))
  printf '{"ok":%s,"exitCode":%s,"error":"%s","action":"%s","dryRun":%s,"manager":"%s","writes":%s,' \
    "$([ "$code" = 0 ] && echo true || echo false)" "$code" "${err//\"/\'}" "$ACTION" "$DRY_RUN" "$MANAGER" "$WRITES"
  printf '"addedCount":%s,"removedCount":%s,"added":%s,"removed":%s,"unchanged":%s,"elapsedMs":%s,' \
    "${#ADDED[@]}" "${#REMOVED[@]}" "$(json_list "${ADDED[@]}")" "$(json_list "${REMOVED[@]}")" "$UNCHANGED" "$elapsed"
  printf '"verifyCount":%s,"verifyFailed":%s,"verify":[%s]}\n' "${#VERIFY_JSON[@]}" "$VERIFY_FAILED" "$verify"
}

# Under SSM Run Command the agent exports AWS_SSM_INSTANCE_ID and AWS_SSM_REGION_NAME to the script; agents older
# than 3.3.2746.0 do not export the document parameters (SSM_*) at all, and SSM_Action always arrives from a newer
# agent (it has a default). Running a plain sync there would report Success for an install or uninstall: refuse.
check_ssm_agent() {
  [ -n "${AWS_SSM_INSTANCE_ID:-}${AWS_SSM_REGION_NAME:-}" ] || return 0
  [ -z "${SSM_Action+x}" ] || return 0
  die 9 "running under SSM Run Command but SSM_Action is not set: SSM Agent older than 3.3.2746.0 does not pass" \
    "document parameters as environment variables; update amazon-ssm-agent (nothing was changed)"
}

parse_args() {
  [ $# -gt 0 ] || check_ssm_agent
  case "${SSM_DryRun:-false}" in true) DRY_RUN=true ;; false) ;; *) die 1 "bad SSM_DryRun" ;; esac
  case "${SSM_Action:-sync}" in
    sync | install | uninstall) ACTION=${SSM_Action:-sync} ;;
    *) die 1 "bad SSM_Action" ;;
  esac
  case "${SSM_Output:-text}" in text | json) OUTPUT=${SSM_Output:-text} ;; *) die 1 "bad SSM_Output" ;; esac
  VERIFY_URL=${SSM_VerifyUrl:-}
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=true ;;
      --install) ACTION=install ;;
      --uninstall) ACTION=uninstall ;;
      --json) OUTPUT=json ;;
      --trigger) [ $# -ge 2 ] || usage; ACTION=trigger TRIGGER_SRC=$2; shift ;;
      --settle) ACTION=settle ;;
      --verify) [ $# -ge 2 ] || usage; VERIFY_URL=$2; shift ;;
      --verify=*) VERIFY_URL=${1#--verify=} ;;
      -h | --help) usage ;;
      *) note "unknown option: $1"; usage ;;
    esac
    shift
  done
  if [ -n "$VERIFY_URL" ] && ! [[ $VERIFY_URL =~ ^https?://[A-Za-z0-9.:/_%?=\&-]+$ ]]; then
    die 1 "bad --verify URL"
  fi
}

# ---------------------------------------------------------------- validation helpers
# One regular expression, no loop: it runs for every address on every run.
readonly OCTET='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
readonly IP_RE="$OCTET\\.$OCTET\\.$OCTET\\.$OCTET"
valid_ip() { [[ $1 =~ ^$IP_RE$ ]]; }
valid_cidr() { [[ $1 =~ ^([0-9.]+)/(0|[1-9][0-9]?)$ ]] && [ "${BASH_REMATCH[2]}" -le 32 ] && valid_ip "${1%/*}"; }
valid_mac() { [[ $1 =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]]; }
# subnet_of CIDR: sets SUBNET (network base/len) and GATEWAY (the VPC router: base + 1). Pure arithmetic, no
# subshells: it runs for every ENI on every run, and forks are what a no-change run spends most of its time on.
SUBNET="" GATEWAY=""
subnet_of() {
  local IFS=. a b c d len=${1#*/} n
  read -r a b c d <<<"${1%/*}"
  n=$((((a << 24) | (b << 16) | (c << 8) | d) & ((0xffffffff << (32 - len)) & 0xffffffff)))
  SUBNET="$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255)).$((n & 255))/$len"
  n=$((n + 1))
  GATEWAY="$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255)).$((n & 255))"
}

# ---------------------------------------------------------------- IMDSv2
imds_token() {
  TOKEN=$(curl -sS -f -X PUT --connect-timeout 1 --max-time 3 --retry 2 --retry-connrefused \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS_URL/latest/api/token" 2>/dev/null) ||
    die 2 "IMDSv2 token request failed url=$IMDS_URL"
  [[ $TOKEN =~ ^[A-Za-z0-9_=+/.-]+$ ]] || die 2 "IMDSv2 token is malformed"
}

# imds_get_many PATH...: fetch every path in one curl process (one keep-alive connection); fills BODY[path] and
# CODE[path]. Bodies are split on a record separator that IMDS values never contain.
declare -A BODY=() CODE=()
imds_get_many() {
  local -a urls=() paths=("$@")
  local p out line i=0 acc=""
  for p in "${paths[@]}"; do urls+=("$IMDS_URL/latest/meta-data/$p"); done
  out=$(curl -sS --connect-timeout 1 --max-time 10 --retry 2 --retry-connrefused \
    -H "X-aws-ec2-metadata-token: $TOKEN" -w $'\n\036%{http_code}\n' "${urls[@]}" 2>/dev/null) || true
  while IFS= read -r line; do
    if [[ $line == $'\036'* ]]; then
      [ "$i" -lt "${#paths[@]}" ] || die 2 "IMDS answered more documents than asked"
      CODE[${paths[$i]}]=${line#$'\036'}
      BODY[${paths[$i]}]=$acc
      acc="" i=$((i + 1))
    elif [ -n "$line" ]; then
      acc+="${acc:+$'\n'}$line"
    fi
  done <<<"$out"
  [ "$i" -eq "${#paths[@]}" ] || die 2 "IMDS request failed (answered $i of ${#paths[@]})"
}

# imds_value PATH [optional]: sets VAL to the body of a fetched path; an absent optional path (404) reads as empty.
# (A global rather than $(...): a failure inside a command substitution would be lost in a for-list.)
VAL=""
imds_value() {
  local code=${CODE[$1]:-000}
  VAL=""
  if [ "$code" = 200 ]; then VAL=${BODY[$1]}; return 0; fi
  if [ "${2:-}" = optional ] && [ "$code" = 404 ]; then return 0; fi
  die 2 "IMDS error path=$1 status=$code"
}

read_imds() {
  local want_assoc=$1 mac base p eip
  imds_token
  imds_get_many mac network/interfaces/macs/
  imds_value mac
  PRIMARY_MAC=$VAL
  valid_mac "$PRIMARY_MAC" || die 2 "IMDS primary mac is malformed value=$PRIMARY_MAC"
  ENI_MACS=()
  imds_value network/interfaces/macs/
  for mac in $VAL; do
    mac=${mac%/}
    valid_mac "$mac" || die 2 "IMDS mac is malformed value=$mac"
    ENI_MACS+=("$mac")
  done
  [[ " ${ENI_MACS[*]} " == *" $PRIMARY_MAC "* ]] ||
    die 2 "IMDS primary mac is not among the interfaces mac=$PRIMARY_MAC"
  local -a paths=()
  for mac in "${ENI_MACS[@]}"; do
    base=network/interfaces/macs/$mac
    paths+=("$base/device-number" "$base/network-card" "$base/interface-id" "$base/local-ipv4s"
      "$base/subnet-ipv4-cidr-block")
    $want_assoc && paths+=("$base/ipv4-associations/")
  done
  imds_get_many "${paths[@]}"
  for mac in "${ENI_MACS[@]}"; do
    base=network/interfaces/macs/$mac
    imds_value "$base/device-number"
    ENI_DEV[$mac]=$VAL
    # Instance types with a single network card may not publish network-card: that card is 0.
    imds_value "$base/network-card" optional
    ENI_CARD[$mac]=${VAL:-0}
    imds_value "$base/interface-id"
    ENI_ID[$mac]=$VAL
    imds_value "$base/local-ipv4s"
    ENI_IPS[$mac]=${VAL//$'\n'/ }
    imds_value "$base/subnet-ipv4-cidr-block"
    ENI_CIDR[$mac]=$VAL
    # No leading zeros: bash arithmetic would read "08" as a bad octal number.
    [[ ${ENI_DEV[$mac]} =~ ^(0|[1-9][0-9]?)$ ]] ||
      die 2 "IMDS device-number is malformed mac=$mac value=${ENI_DEV[$mac]}"
    [[ ${ENI_CARD[$mac]} =~ ^(0|1[0-5]?|[2-9])$ ]] ||
      die 2 "IMDS network-card is malformed mac=$mac value=${ENI_CARD[$mac]}"
    [[ ${ENI_ID[$mac]} =~ ^eni-[0-9a-f]+$ ]] || die 2 "IMDS interface-id is malformed mac=$mac"
    valid_cidr "${ENI_CIDR[$mac]}" || die 2 "IMDS subnet is malformed mac=$mac value=${ENI_CIDR[$mac]}"
    [ -n "${ENI_IPS[$mac]}" ] || die 2 "IMDS local-ipv4s is empty mac=$mac"
    for p in ${ENI_IPS[$mac]}; do valid_ip "$p" || die 2 "IMDS local-ipv4s is malformed mac=$mac value=$p"; done
  done
  $want_assoc || return 0
  paths=()
  for mac in "${ENI_MACS[@]}"; do
    base=network/interfaces/macs/$mac
    # No association at all is a 404, which is an answer ("none"), not an error.
    imds_value "$base/ipv4-associations/" optional
    for eip in $VAL; do
      valid_ip "$eip" || die 2 "IMDS ipv4-associations is malformed mac=$mac value=$eip"
      paths+=("$base/ipv4-associations/$eip")
    done
  done
  [ "${#paths[@]}" -gt 0 ] || return 0
  imds_get_many "${paths[@]}"
  for p in "${paths[@]}"; do
    eip=${p##*/}
    imds_value "$p"
    ENI_ASSOC[$eip]=$VAL
    valid_ip "${ENI_ASSOC[$eip]}" || die 2 "IMDS association is malformed eip=$eip value=${ENI_ASSOC[$eip]}"
  done
}

# ---------------------------------------------------------------- kernel state
read_links() {
  local name flags rest mac
  LINK_BY_MAC=() LINK_UP=()
  while read -r _ name flags rest; do
    name=${name%:} name=${name%@*}
    [[ $rest =~ link/ether\ ([0-9a-f:]{17}) ]] || continue
    mac=${BASH_REMATCH[1]}
    LINK_BY_MAC[$mac]=$name
    if [[ $flags =~ [\<,]UP[,\>] ]]; then LINK_UP[$name]=1; else LINK_UP[$name]=0; fi
  done < <(ip -o link show)
}

in_range() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge $TABLE_BASE ] && [ "$1" -lt $TABLE_END ]; }

# ours_on_link KEY("<mac> <ip>"): sets DEV when the recorded address is still on its ENI as our /32.
ours_on_link() {
  DEV=${LINK_BY_MAC[${1% *}]:-}
  [ -n "$DEV" ] || return 1
  [ "${ADDR_PREFIX["$DEV ${1#* }"]:-}" = 32 ]
}

read_kernel() {
  local line name cidr prio from table dst via dev w
  read_links
  ADDR_PREFIX=() CUR_RULES=() CUR_ROUTES=()
  # ADDR_PREFIX["<ifname> <ip>"] = prefix length (and noprefixroute marker)
  while read -r _ name _ cidr line; do
    ADDR_PREFIX["$name ${cidr%/*}"]=${cidr#*/}
  done < <(ip -o -4 addr show)
  while read -r prio line; do
    prio=${prio%:}
    in_range "$prio" || continue
    [[ $line =~ ^from\ ([0-9.]+)(/32)?\ lookup\ ([0-9]+)\ proto\ ($PROTO)( |$) ]] || continue
    CUR_RULES["$prio ${BASH_REMATCH[1]}"]=1
  done < <(ip -4 rule show)
  local -a fields
  local i
  while read -r -a fields; do
    dst=${fields[0]:-} via="" dev="" table=""
    for ((i = 1; i + 1 < ${#fields[@]}; i++)); do
      case "${fields[$i]}" in
        via) via=${fields[i + 1]} ;;
        dev) dev=${fields[i + 1]} ;;
        table) table=${fields[i + 1]} ;;
      esac
    done
    in_range "$table" || continue
    CUR_ROUTES["$table $dst ${via:--} $dev"]=1
  done < <(ip -4 route show table all proto $PROTO)
  # Devices of the main table's default routes, and which links are ENIs (for the primary ENI's guard).
  MAIN_DEFAULT_DEVS=() ENI_OF_DEV=()
  for w in "${ENI_MACS[@]}"; do [ -z "${LINK_BY_MAC[$w]:-}" ] || ENI_OF_DEV[${LINK_BY_MAC[$w]}]=$w; done
  while read -r -a fields; do
    for ((i = 1; i + 1 < ${#fields[@]}; i++)); do
      [ "${fields[$i]}" != dev ] || MAIN_DEFAULT_DEVS+=("${fields[i + 1]}")
    done
  done < <(ip -4 route show table main default)
  RECORDED=()
  if [ -f "$RECORD" ]; then
    # An empty record (every address we added is gone) is a valid state: no `[ ] &&` as the loop's last command,
    # whose failure would end the run under `set -e`.
    while read -r w line; do
      if [ -n "$line" ]; then RECORDED["$w $line"]=1; fi
    done <"$RECORD"
  fi
}

# Freshly attached ENIs: the interface may not exist yet and IMDS may report device-number 0 until propagation
# finishes (amazon-ec2-net-utils #90/#153). Wait a bounded time; then give up without changing anything.
wait_for_enis() {
  local deadline=$((SECONDS + ENI_WAIT)) mac missing slot
  local -A owner=()
  while :; do
    missing="" owner=()
    for mac in "${ENI_MACS[@]}"; do owner["${ENI_CARD[$mac]}/${ENI_DEV[$mac]}"]+=" $mac"; done
    for mac in "${ENI_MACS[@]}"; do
      slot=${owner["${ENI_CARD[$mac]}/${ENI_DEV[$mac]}"]}
      if [ -z "${LINK_BY_MAC[$mac]:-}" ]; then missing+=" $mac(no-interface)"
      # Two ENIs on one (card, device) slot: the one that is not the primary still reads a propagating 0.
      elif [ "$mac" != "$PRIMARY_MAC" ] && [ "$slot" != " $mac" ]; then
        missing+=" $mac(device-number-${ENI_DEV[$mac]})"
      fi
    done
    [ -z "$missing" ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || die 3 "ENI not ready:$missing"
    note "waiting for ENI:$missing"
    sleep 1
    read_imds false
    read_kernel
  done
}

# ---------------------------------------------------------------- managers
detect_manager() {
  case "${EIP_AUTOPILOT_MANAGER:-auto}" in
    ip | networkd | netutils) MANAGER=$EIP_AUTOPILOT_MANAGER; return 0 ;;
    auto) ;;
    *) die 1 "bad EIP_AUTOPILOT_MANAGER" ;;
  esac
  if netutils_in_use; then
    MANAGER=netutils
  elif [ -d /run/systemd/netif/links ]; then
    MANAGER=networkd
  else
    MANAGER=ip
  fi
}

# ---------------------------------------------------------------- planning
plan() {
  local mac dev ips ip first prio gw subnet line guard
  BATCH=() NEW_RECORD=() WANT_RULES=() WANT_ROUTES=()
  for mac in "${ENI_MACS[@]}"; do
    dev=${LINK_BY_MAC[$mac]}
    ips=${ENI_IPS[$mac]}
    first=${ips%% *}
    subnet_of "${ENI_CIDR[$mac]}"
    subnet=$SUBNET gw=$GATEWAY
    if [ "${LINK_UP[$dev]}" = 0 ]; then
      BATCH+=("link set dev $dev up"); change add "up $dev" eni-down
    fi
    for ip in $ips; do
      if [ -n "${ADDR_PREFIX["$dev $ip"]:-}" ]; then
        UNCHANGED=$((UNCHANGED + 1))
        [ -n "${RECORDED["$mac $ip"]:-}" ] && NEW_RECORD["$mac $ip"]=1
      elif [ "$ip" = "$first" ] && [ "$mac" = "$PRIMARY_MAC" ]; then
        # The primary ENI's primary address is DHCP's: missing means a lease is being renewed (a manager
        # re-applying the link). A static copy added now would fight the DHCP client; the hook's second run and the
        # timer look again.
        [ -n "$QUIET" ] || note "primary address $ip of $dev is missing: left to DHCP"
        WAITING=1
      elif [ "$ip" = "$first" ]; then
        # The primary of a non-primary ENI (DHCP often configures eth0 only): keep its subnet route out of the main
        # table, where it would steal traffic from eth0.
        line="$ip/${subnet#*/} dev $dev noprefixroute"
        BATCH+=("address add $line"); change add "add $line" primary-ip-missing
      else
        BATCH+=("address add $ip/32 dev $dev noprefixroute"); change add "add $ip/32 dev $dev" secondary-ip-missing
        NEW_RECORD["$mac $ip"]=1
      fi
    done
    if [ "$mac" = "$PRIMARY_MAC" ]; then
      # The primary ENI stays on the main table, unless the main table also has a default route through another
      # ENI (DHCP on every ENI, equal metrics): then its addresses could leave through that ENI, where the VPC drops
      # them. Judged on the kernel at every run: give them table 10000 (card 0, device 0) as every other ENI has.
      guard=false
      for line in "${MAIN_DEFAULT_DEVS[@]}"; do
        if [ "$line" != "$dev" ] && [ -n "${ENI_OF_DEV[$line]:-}" ]; then guard=true; fi
      done
      $guard || continue
    fi
    prio=$((TABLE_BASE + 100 * ENI_CARD[$mac] + ENI_DEV[$mac]))
    WANT_ROUTES["$prio $subnet - $dev"]=1
    WANT_ROUTES["$prio default $gw $dev"]=1
    for ip in $ips; do WANT_RULES["$prio $ip"]=1; done
  done
  plan_removals
  plan_routes_and_rules
}

plan_routes_and_rules() {
  local key table dst via dev prio from
  # Subnet routes before default routes: the gateway must be reachable when the default route is added.
  while IFS=' ' read -r table dst via dev; do
    [ -n "$table" ] || continue
    key="$table $dst $via $dev"
    if [ -n "${CUR_ROUTES[$key]:-}" ]; then UNCHANGED=$((UNCHANGED + 1)); continue; fi
    if [ "$via" = - ]; then
      BATCH+=("route add $dst dev $dev table $table proto $PROTO scope link")
      change add "add route $dst dev $dev table $table" eni-subnet-route-missing
    else
      BATCH+=("route add $dst via $via dev $dev table $table proto $PROTO")
      change add "add route $dst via $via dev $dev table $table" eni-default-route-missing
    fi
  done < <(printf '%s\n' "${!WANT_ROUTES[@]}" | awk '{print ($2=="default" ? 1 : 0), $0}' |
    sort -k1,1n -k2,2n | cut -d' ' -f2-)
  while IFS=' ' read -r prio from; do
    [ -n "$prio" ] || continue
    if [ -n "${CUR_RULES["$prio $from"]:-}" ]; then UNCHANGED=$((UNCHANGED + 1)); continue; fi
    BATCH+=("rule add from $from/32 lookup $prio priority $prio protocol $PROTO")
    change add "add rule from $from table $prio" eni-source-rule-missing
  done < <(printf '%s\n' "${!WANT_RULES[@]}" | sort -n)
}

# Removals come first in the batch: an address moving between ENIs is deleted, then added on its new ENI.
plan_removals() {
  local key mac ip dev table dst via prio from
  local -a removals=()
  for key in "${!RECORDED[@]}"; do
    [ -n "${NEW_RECORD[$key]:-}" ] && continue
    mac=${key% *} ip=${key#* }
    ours_on_link "$key" || continue
    dev=$DEV
    # Still wanted on this ENI (present, recorded): keep it.
    [[ " ${ENI_IPS[$mac]:-} " == *" $ip "* ]] && { NEW_RECORD[$key]=1; continue; }
    removals+=("address del $ip/32 dev $dev")
    change del "del $ip/32 dev $dev" ip-no-longer-assigned
  done
  for key in "${!CUR_RULES[@]}"; do
    [ -n "${WANT_RULES[$key]:-}" ] && continue
    prio=${key% *} from=${key#* }
    removals+=("rule del from $from/32 lookup $prio priority $prio")
    change del "del rule from $from table $prio" rule-not-wanted
  done
  for key in "${!CUR_ROUTES[@]}"; do
    [ -n "${WANT_ROUTES[$key]:-}" ] && continue
    read -r table dst via dev <<<"$key"
    if [ "$via" = - ]; then removals+=("route del $dst dev $dev table $table proto $PROTO")
    else removals+=("route del $dst via $via dev $dev table $table proto $PROTO"); fi
    change del "del route $dst${via/#-/} dev $dev table $table" route-not-wanted
  done
  BATCH=("${removals[@]}" "${BATCH[@]}")
}

# ---------------------------------------------------------------- apply
apply_batch() {
  local key new="" old=""
  # The record is our proof of ownership. It is written before the batch, so that addresses added by a batch that
  # fails halfway are still known as ours; it is rewritten only when it changed.
  new=$(for key in "${!NEW_RECORD[@]}"; do echo "$key"; done | sort)
  [ -f "$RECORD" ] && { IFS= read -r -d '' old <"$RECORD" || true; }
  old=${old%$'\n'}
  if [ "$new" != "$old" ]; then
    # Nothing recorded is an empty file, not one empty line.
    printf '%s' "$new${new:+$'\n'}" >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
  fi
  if [ "${#BATCH[@]}" -gt 0 ]; then
    printf '%s\n' "${BATCH[@]}" | ip -batch - >&2 || die 4 "ip -batch failed (see above); run again to retry"
    WRITES=$((WRITES + ${#BATCH[@]}))
  fi
}

# post_check: "in sync" is judged on the kernel, not on what was sent to it. Read it again 0.3 s later (and once
# more after 0.5 s: a manager may still be settling) and plan silently: anything left to do both times means
# something undoes our change at once, a layout guest-sync does not handle. Only after a run that wrote: a
# no-change run costs nothing more.
QUIET_FIRST=""
post_check() {
  local tries=2 unchanged=$UNCHANGED
  sleep 0.3
  while [ "$tries" -gt 0 ]; do
    read_kernel
    QUIET=1 QUIET_FIRST=""
    plan
    QUIET=""
    UNCHANGED=$unchanged
    [ "${#BATCH[@]}" != 0 ] || return 0
    tries=$((tries - 1))
    [ "$tries" = 0 ] || sleep 0.5
  done
  die 10 "layout not handled: manager=$MANAGER undoes what was applied (still to do: $QUIET_FIRST); see docs/guest.md"
}

# ---------------------------------------------------------------- amazon-ec2-net-utils
# netutils_diff: sets BAD to the interfaces whose addresses or source routing differ from IMDS (read-only).
BAD=""
netutils_diff() {
  local mac dev ip out
  BAD=""
  for mac in "${ENI_MACS[@]}"; do
    dev=${LINK_BY_MAC[$mac]}
    for ip in ${ENI_IPS[$mac]}; do
      if [ -z "${ADDR_PREFIX["$dev $ip"]:-}" ]; then BAD+=" $dev"; continue; fi
      [ "$mac" = "$PRIMARY_MAC" ] && continue
      out=$(ip -o route get 192.0.2.1 from "$ip" 2>/dev/null || true)
      [[ $out == *" dev $dev "* ]] || BAD+=" $dev"
    done
  done
}

# amazon-ec2-net-utils does this job itself: only verify, never write (not even after its state matches). When it
# differs, start its refresh without blocking (a blocking `systemctl start` was seen to hang while we hold the lock)
# and poll a bounded time: right after boot its units are still settling, and that is not a failure.
check_netutils() {
  local dev deadline=$((SECONDS + NETUTILS_WAIT)) triggered=false
  # This mode never writes: drop the lock, so no wait on amazon-ec2-net-utils ever holds it.
  flock -u 9 2>/dev/null || true
  while :; do
    netutils_diff
    if [ -z "$BAD" ]; then
      note "amazon-ec2-net-utils state matches IMDS"
      [ "$OUTPUT" = json ] || [ "${#ADDED[@]}" != 0 ] || echo "in sync unchanged=$UNCHANGED"
      verify
      emit_json 0
      REPORTED=1
      exit 0
    fi
    if ! $triggered; then
      for dev in $(tr ' ' '\n' <<<"$BAD" | sort -u); do
        change add "refresh amazon-ec2-net-utils for $dev" netutils-state-differs
        if ! $DRY_RUN && [ -d /run/systemd/system ]; then
          timeout 10 systemctl start --no-block "refresh-policy-routes@$dev.service" >&2 || true
          triggered=true
        fi
      done
    fi
    if ! $triggered || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep 0.5
    read_kernel
  done
  die 8 "amazon-ec2-net-utils state differs from IMDS:$BAD"
}

# netutils_in_use: amazon-ec2-net-utils installed AND its units active (or activating) for an ENI of this instance.
# Installed is not in use: on an ifupdown guest its units exist but nothing starts them.
netutils_in_use() {
  local mac dev
  local -a units=()
  [ -e /usr/lib/systemd/system/refresh-policy-routes@.service ] ||
    [ -e /lib/systemd/system/refresh-policy-routes@.service ] || return 1
  [ -d /run/systemd/system ] || return 1
  for mac in "${ENI_MACS[@]}"; do
    dev=${LINK_BY_MAC[$mac]}
    units+=("policy-routes@$dev.service" "refresh-policy-routes@$dev.timer")
  done
  local states
  states=$'\n'$(timeout 10 systemctl is-active "${units[@]}" 2>/dev/null || true)$'\n'
  [[ $states =~ $'\n'(active|activating|reloading)$'\n' ]]
}

# ---------------------------------------------------------------- verify
verify() {
  local eip priv got failed=0
  [ -n "$VERIFY_URL" ] || return 0
  for eip in $(printf '%s\n' "${!ENI_ASSOC[@]}" | sort); do
    priv=${ENI_ASSOC[$eip]}
    got=$(curl -sS --interface "$priv" --connect-timeout 3 --max-time 5 "$VERIFY_URL" 2>/dev/null |
      tr -d ' \r\n' || true)
    if [ "$got" = "$eip" ]; then
      [ "$OUTPUT" = json ] || say "verify ok private=$priv public=$eip"
      VERIFY_JSON+=("{\"privateIp\":\"$priv\",\"expected\":\"$eip\",\"observed\":\"$got\",\"ok\":true}")
    else
      got=${got:0:40}
      echo "verify mismatch private=$priv expected=$eip observed=${got:-none}" >&2
      got=${got//[^0-9A-Za-z.:]/}
      VERIFY_JSON+=("{\"privateIp\":\"$priv\",\"expected\":\"$eip\",\"observed\":\"$got\",\"ok\":false}")
      failed=$((failed + 1))
    fi
  done
  VERIFY_FAILED=$failed
  [ "$failed" = 0 ] || die 5 "verify found a mismatch"
}

# ---------------------------------------------------------------- install / uninstall
# write_file PATH CONTENT: write only when different, so --install is idempotent and says what it changed.
write_file() {
  local path=$1 content=$2
  if [ -f "$path" ] && [ "$(cat "$path"; echo x)" = "${content}x" ]; then return 0; fi
  $DRY_RUN || { mkdir -p "${path%/*}"; printf '%s' "$content" >"$path.tmp"; mv "$path.tmp" "$path"; }
  change add "install $path" install
}

link_file() {
  [ -L "$2" ] && [ "$(readlink "$2")" = "$1" ] && return 0
  $DRY_RUN || { mkdir -p "${2%/*}"; ln -sfn "$1" "$2"; }
  change add "enable $2" install
}

install_units() {
  local self
  self=$(cat "$0") || die 7 "cannot read own script $0"
  write_file "$INSTALL_PATH" "$self"$'\n'
  $DRY_RUN || chmod 0755 "$INSTALL_PATH"
  write_file "$UNIT_DIR/$UNIT.service" "[Unit]
Description=eip-autopilot guest sync (IMDS private IPs -> addresses and source routing)
Documentation=https://github.com/eip-autopilot/eip-autopilot/blob/main/docs/guest.md
Wants=network-online.target
After=network-online.target systemd-networkd.service

[Service]
Type=oneshot
ExecStart=$INSTALL_PATH

[Install]
WantedBy=multi-user.target
"
  write_file "$UNIT_DIR/$UNIT.timer" "[Unit]
Description=eip-autopilot guest sync every 60 s

[Timer]
OnBootSec=30s
OnUnitActiveSec=60s
AccuracySec=5s

[Install]
WantedBy=timers.target
"
  write_file "$UNIT_DIR/$HOOK_UNIT.service" "[Unit]
Description=eip-autopilot guest sync after a network manager event (repair in seconds)
Documentation=https://github.com/eip-autopilot/eip-autopilot/blob/main/docs/guest.md

[Service]
Type=oneshot
ExecStart=$INSTALL_PATH --settle
"
  # networkd (and netplan, which renders to it) rewrites a link's state file whenever it (re)configures the link.
  write_file "$UNIT_DIR/$HOOK_UNIT.path" "[Unit]
Description=eip-autopilot guest sync when systemd-networkd (re)configures a link

[Path]
PathChanged=/run/systemd/netif/links
Unit=$HOOK_UNIT.service

[Install]
WantedBy=multi-user.target
"
  # Enabling is symlinks; doing it by hand works with or without a running systemd (images, chroots).
  link_file "$UNIT_DIR/$UNIT.service" "$UNIT_DIR/multi-user.target.wants/$UNIT.service"
  link_file "$UNIT_DIR/$UNIT.timer" "$UNIT_DIR/timers.target.wants/$UNIT.timer"
  link_file "$UNIT_DIR/$HOOK_UNIT.path" "$UNIT_DIR/multi-user.target.wants/$HOOK_UNIT.path"
  install_hooks
  if [ -d /run/systemd/system ] && ! $DRY_RUN && [ "${#ADDED[@]}" -gt 0 ]; then
    if ! { systemctl daemon-reload && systemctl start "$UNIT.timer" "$HOOK_UNIT.path"; }; then
      die 4 "systemctl could not start $UNIT.timer"
    fi
  fi
}

# The managers' own hooks, each installed only where that manager is installed (its /etc directory exists). Each
# runs one command, `--trigger`, which only asks systemd to start the hook service and returns at once.
hook_path() {
  case "$1" in
    networkmanager) echo "$HOOK_ROOT/etc/NetworkManager/dispatcher.d/90-eip-autopilot" ;;
    ifupdown) echo "$HOOK_ROOT/etc/network/if-up.d/eip-autopilot" ;;
    dhclient) echo "$HOOK_ROOT/etc/dhcp/dhclient-exit-hooks.d/eip-autopilot" ;;
    udev) echo "$HOOK_ROOT/etc/udev/rules.d/90-eip-autopilot.rules" ;;
  esac
}
readonly HOOKS="networkmanager ifupdown dhclient udev"

install_hooks() {
  local h path dir
  for h in $HOOKS; do
    path=$(hook_path "$h")
    dir=${path%/*}
    # The manager's own directory (e.g. /etc/NetworkManager) must exist: never create one for an absent manager.
    [ -d "${dir%/*}" ] || continue
    case "$h" in
      networkmanager) write_file "$path" "#!/bin/sh
# eip-autopilot: NetworkManager flushes external addresses and rules when it (re)activates a connection.
case \"\$2\" in
  up | dhcp4-change | reapply) exec $INSTALL_PATH --trigger networkmanager ;;
esac
" ;;
      ifupdown) write_file "$path" "#!/bin/sh
# eip-autopilot: ifdown/ifup and \`systemctl restart networking\` flush every address of the interface.
[ \"\$IFACE\" = lo ] || exec $INSTALL_PATH --trigger ifupdown
" ;;
      # Sourced by dhclient-script (never exec here): it flushes the interface's addresses on a new lease.
      dhclient) write_file "$path" "# eip-autopilot: dhclient-script flushes the interface's addresses on a new lease.
case \"\$reason\" in
  BOUND | REBOOT | RENEW | REBIND) $INSTALL_PATH --trigger dhclient || true ;;
esac
" ;;
      udev) write_file "$path" "# eip-autopilot: an ENI attached or detached (one line per action, one command each).
ACTION==\"add\", SUBSYSTEM==\"net\", KERNEL!=\"lo\", RUN+=\"$INSTALL_PATH --trigger udev\"
ACTION==\"remove\", SUBSYSTEM==\"net\", KERNEL!=\"lo\", RUN+=\"$INSTALL_PATH --trigger udev\"
" ;;
    esac
    case "$h" in networkmanager | ifupdown) $DRY_RUN || chmod 0755 "$path" ;; esac
  done
}

# trigger: what every hook runs. Returns at once (udev kills slow RUN programs; ifup and NetworkManager wait).
trigger() {
  if [ -d /run/systemd/system ] && [ -e "$UNIT_DIR/$HOOK_UNIT.service" ]; then
    timeout 5 systemctl start --no-block "$HOOK_UNIT.service" >&2 || note "could not start $HOOK_UNIT.service"
    REPORTED=1
    exit 0
  fi
  note "triggered by $TRIGGER_SRC without systemd: syncing inline"
  settle
}

# settle: a manager often re-applies in steps (flush, then DHCP, then routes): sync, wait, sync again.
settle() {
  local tries=50 state
  # systemd-networkd rewrites a link's state file when it starts (re)configuring it: let it finish first (bounded),
  # so that the run does not race its flush and DHCP.
  set +f
  while [ "$tries" -gt 0 ]; do
    state=$(cat /run/systemd/netif/links/* 2>/dev/null || true)
    [[ $state == *ADMIN_STATE=configuring* || $state == *ADMIN_STATE=initialized* ]] || break
    tries=$((tries - 1))
    sleep 0.1
  done
  set -f
  bash "$0" || true
  sleep "$SETTLE"
  REPORTED=1
  exec bash "$0"
}

uninstall() {
  local f key ip dev prio from table dst via
  if [ -d /run/systemd/system ] && ! $DRY_RUN; then systemctl disable --now "$UNIT.timer" >&2 2>/dev/null || true; fi
  if [ -d /run/systemd/system ] && ! $DRY_RUN; then
    systemctl disable --now "$HOOK_UNIT.path" >&2 2>/dev/null || true
  fi
  local -a files=("$UNIT_DIR/timers.target.wants/$UNIT.timer" "$UNIT_DIR/multi-user.target.wants/$UNIT.service"
    "$UNIT_DIR/multi-user.target.wants/$HOOK_UNIT.path" "$UNIT_DIR/$UNIT.timer" "$UNIT_DIR/$UNIT.service"
    "$UNIT_DIR/$HOOK_UNIT.path" "$UNIT_DIR/$HOOK_UNIT.service" "$INSTALL_PATH")
  for f in $HOOKS; do files+=("$(hook_path "$f")"); done
  for f in "${files[@]}"; do
    if [ -e "$f" ] || [ -L "$f" ]; then $DRY_RUN || rm -f "$f"; change del "remove $f" uninstall; fi
  done
  $DRY_RUN || rmdir --ignore-fail-on-non-empty "$UNIT_DIR/timers.target.wants" "$UNIT_DIR/multi-user.target.wants" \
    2>/dev/null || true
  if [ -d /run/systemd/system ] && ! $DRY_RUN; then systemctl daemon-reload >&2 || true; fi
  read_kernel
  BATCH=()
  for key in "${!RECORDED[@]}"; do
    ip=${key#* }
    ours_on_link "$key" || continue
    dev=$DEV
    BATCH+=("address del $ip/32 dev $dev"); change del "del $ip/32 dev $dev" uninstall
  done
  for key in "${!CUR_RULES[@]}"; do
    prio=${key% *} from=${key#* }
    BATCH+=("rule del from $from/32 lookup $prio priority $prio")
    change del "del rule from $from table $prio" uninstall
  done
  for key in "${!CUR_ROUTES[@]}"; do
    read -r table dst via dev <<<"$key"
    [ "$via" = - ] && via="" || via="via $via"
    BATCH+=("route del $dst $via dev $dev table $table proto $PROTO")
    change del "del route $dst dev $dev table $table" uninstall
  done
  local reload=false dropins
  set +f
  dropins=("$NETWORKD_DIR"/*.network.d/"$DROPIN_NAME")
  set -f
  for f in "${dropins[@]}"; do
    [ -e "$f" ] || continue
    $DRY_RUN || rm -f "$f"; change del "remove $f" uninstall; reload=true
  done
  $DRY_RUN && return 0
  if [ "${#BATCH[@]}" -gt 0 ]; then printf '%s\n' "${BATCH[@]}" | ip -batch - >&2 || die 4 "ip -batch failed"; fi
  WRITES=${#BATCH[@]}
  if $reload; then networkctl reload >&2 || true; fi
  rm -f "$RECORD"
}

# ---------------------------------------------------------------- main
main() {
  parse_args "$@"
  [ "$EUID" = 0 ] || die 7 "must run as root"
  # Before the lock: the runs these start take it themselves.
  case "$ACTION" in trigger) trigger ;; settle) settle ;; esac
  local cmd
  for cmd in ip curl flock; do command -v "$cmd" >/dev/null || die 7 "missing command $cmd"; done
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -w 60 9 || die 6 "another guest-sync run holds $STATE_DIR/lock"

  if [ "$ACTION" = uninstall ]; then uninstall; emit_json 0; exit 0; fi
  [ "$ACTION" = install ] && install_units

  local want_assoc=false
  [ -n "$VERIFY_URL" ] && want_assoc=true
  read_imds "$want_assoc"
  read_kernel
  wait_for_enis
  detect_manager
  [ "$MANAGER" = netutils ] && check_netutils
  plan
  if ! $DRY_RUN; then
    apply_batch
    [ "${#BATCH[@]}" = 0 ] || post_check
  fi
  [ "$OUTPUT" = json ] || [ "${#ADDED[@]}${#REMOVED[@]}" != 00 ] || [ -n "$WAITING" ] ||
    echo "in sync unchanged=$UNCHANGED"
  verify
  emit_json 0
}

main "$@"
