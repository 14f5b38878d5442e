#!/usr/bin/env bash
# Boot the igbpoll test guest under QEMU (TCG, q35, emulated Intel IOMMU) with
# one emulated 82576 (-device igb, guest PCI 0000:00:02.0, MAC 52:54:00:12:34:56)
# and one 82540EM (-device e1000, 0000:00:03.0, MAC 52:54:00:12:34:57), each on
# its own UDP "-netdev dgram" on 127.0.0.1 (one Ethernet frame per datagram) or
# on a host TAP device (-i/-e tap:IFNAME).
#
# usage: qemu/run-guest.sh [options] INITRD [-- QEMU_ARGS...]
#
#   -i QPORT:HPORT  igb ports (env IGBPOLL_IGB_PORTS, default 40110:40111)
#   -e QPORT:HPORT  e1000 ports (env IGBPOLL_E1000_PORTS, default 40120:40121)
#                   QEMU binds 127.0.0.1:QPORT and sends what the guest transmits
#                   to 127.0.0.1:HPORT. A host program binds HPORT to receive, and
#                   sends frames to QPORT to inject them into the guest's NIC.
#                   Inject only after the guest prints its "ready" marker.
#   -i tap:IFNAME   instead: put that NIC on the existing host TAP device IFNAME
#   -e tap:IFNAME   (-netdev tap, script=no), so the host kernel's own stack is its
#                   peer. Run this script inside the TAP's network namespace.
#   -d DIR          record each netdev's frames (both directions) with
#                   filter-dump into DIR/igb.pcap and DIR/e1000.pcap
#   -t SECONDS      kill QEMU after this long (env IGBPOLL_QEMU_TIMEOUT, default 120)
#   -l LOG          serial log file (default: INITRD with .log instead of .cpio.gz)
#   -a ARGS         extra kernel command line, e.g. "igbpoll.bind=none igbpoll.kmods=1"
#   -m MIB          guest memory (default 512)
#   -k VMLINUZ      guest kernel (default: the one qemu/provision.sh cached)
#   -q              do not echo the serial log (it is still written to LOG)
#   -c              connect this script's stdin to the guest's serial console
#                   (default /dev/null), so a host program can type into the guest
#   QEMU_ARGS       appended to the QEMU command line
#
# Exit status: the guest's rc from its "IGBPOLL-GUEST: done rc=N" line;
# 124 if the timeout killed QEMU; 125 if QEMU ended without that line
# (kernel panic, QEMU error).
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

igb_ports="${IGBPOLL_IGB_PORTS:-40110:40111}"
e1000_ports="${IGBPOLL_E1000_PORTS:-40120:40121}"
timeout_s="${IGBPOLL_QEMU_TIMEOUT:-120}"
dump_dir="" log="" append="" mem=512 kernel="$IGBPOLL_GUEST_KERNEL_DIR/vmlinuz" quiet=""
console_in=/dev/null
while getopts ':i:e:d:t:l:a:m:k:qch' opt; do
  case "$opt" in
    i) igb_ports="$OPTARG" ;;
    e) e1000_ports="$OPTARG" ;;
    d) dump_dir="$OPTARG" ;;
    t) timeout_s="$OPTARG" ;;
    l) log="$OPTARG" ;;
    a) append="$OPTARG" ;;
    m) mem="$OPTARG" ;;
    k) kernel="$OPTARG" ;;
    q) quiet=1 ;;
    c) console_in=/dev/stdin ;;
    h) usage; exit 0 ;;
    :) echo "${0##*/}: -$OPTARG needs a value" >&2; usage >&2; exit 2 ;;
    *) echo "${0##*/}: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { usage >&2; exit 2; }
initrd="$1"; shift
[ "${1:-}" != -- ] || shift

[ -f "$initrd" ] || die "initramfs $initrd not found (build it with qemu/mkinitramfs.sh)"
[ -f "$kernel" ] || die "guest kernel $kernel not found: run qemu/provision.sh first"
qemu_has_igb || die "qemu-system-x86_64 with -device igb not found: run qemu/provision.sh first (as root)"
[[ "$timeout_s" =~ ^[0-9]+$ ]] && [ "$timeout_s" -gt 0 ] || die "timeout must be a positive number of seconds: $timeout_s"

ports_ok() { [[ "$1" =~ ^[0-9]+:[0-9]+$ || "$1" =~ ^tap:[A-Za-z0-9_.-]{1,15}$ ]]; }
ports_ok "$igb_ports" || die "igb ports must be QPORT:HPORT or tap:IFNAME, got '$igb_ports'"
ports_ok "$e1000_ports" || die "e1000 ports must be QPORT:HPORT or tap:IFNAME, got '$e1000_ports'"

netdev() {  # netdev ID QPORT:HPORT|tap:IFNAME
  case "$2" in
    tap:*) echo "tap,id=$1,ifname=${2#tap:},script=no,downscript=no" ;;
    *) echo "dgram,id=$1,local.type=inet,local.host=127.0.0.1,local.port=${2%%:*},remote.type=inet,remote.host=127.0.0.1,remote.port=${2##*:}" ;;
  esac
}
link_desc() {  # link_desc QPORT:HPORT|tap:IFNAME
  case "$1" in
    tap:*) echo "tap ${1#tap:}" ;;
    *) echo "udp 127.0.0.1:${1%%:*}->${1##*:}" ;;
  esac
}

if [ -z "$log" ]; then
  case "$initrd" in *.cpio.gz) log="${initrd%.cpio.gz}.log" ;; *) log="$initrd.log" ;; esac
fi
mkdir -p "$(dirname "$log")"

args=(
  -accel tcg -machine q35,kernel-irqchip=split -cpu max -m "$mem" -smp 1
  -device intel-iommu,intremap=on,caching-mode=on
  -kernel "$kernel" -initrd "$initrd"
  -append "console=ttyS0 intel_iommu=on quiet panic=-1 $append"
  -display none -serial stdio -no-reboot
  -netdev "$(netdev n0 "$igb_ports")" -device igb,netdev=n0,mac=52:54:00:12:34:56,addr=02.0
  -netdev "$(netdev n1 "$e1000_ports")" -device e1000,netdev=n1,mac=52:54:00:12:34:57,addr=03.0
)
if [ -n "$dump_dir" ]; then
  mkdir -p "$dump_dir"
  args+=(-object "filter-dump,id=f0,netdev=n0,file=$dump_dir/igb.pcap"
         -object "filter-dump,id=f1,netdev=n1,file=$dump_dir/e1000.pcap")
fi
args+=("$@")

note "log $log; igb $(link_desc "$igb_ports"), e1000 $(link_desc "$e1000_ports"); timeout ${timeout_s}s"
t0=$(date +%s.%N)
set +e
if [ -n "$quiet" ]; then
  timeout -k 5 "$timeout_s" qemu-system-x86_64 "${args[@]}" <"$console_in" >"$log" 2>&1
  qrc=$?
else
  timeout -k 5 "$timeout_s" qemu-system-x86_64 "${args[@]}" <"$console_in" 2>&1 | tee "$log"
  qrc=${PIPESTATUS[0]}
fi
set -e
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
  note "TIMEOUT: killed QEMU after ${timeout_s}s (log: $log)"
  exit 124
fi
done_line=$(tr -d '\r' < "$log" | grep -a '^IGBPOLL-GUEST: done rc=' | tail -1 || true)
if [ -z "$done_line" ]; then
  note "FAIL: QEMU exited ($qrc) after ${secs}s without an 'IGBPOLL-GUEST: done rc=N' line (log: $log)"
  exit 125
fi
rc=${done_line##*rc=}
[[ "$rc" =~ ^[0-9]+$ ]] || { note "FAIL: malformed marker '$done_line'"; exit 125; }
note "guest done rc=$rc, boot to poweroff ${secs}s wall (QEMU exit $qrc)"
exit "$rc"
