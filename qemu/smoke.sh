#!/usr/bin/env bash
# End-to-end smoke test of the QEMU harness: provision (cached after the first
# run), build an initramfs whose /guest.sh checks that both emulated NICs are
# bound to vfio-pci, each alone in its IOMMU group with /dev/vfio/GROUP present,
# then boot it and require rc=0. Prints the time of each phase.
#
# usage: qemu/smoke.sh [-h]
#
# Environment: IGBPOLL_QEMU_CACHE, IGBPOLL_QEMU_TIMEOUT, IGBPOLL_IGB_PORTS,
# IGBPOLL_E1000_PORTS (see run-guest.sh). If the host has tcpdump, it is put in
# the guest too and run once, to prove the add_binary path (ldd libraries).
# Artifacts: $IGBPOLL_QEMU_CACHE/smoke/{smoke.cpio.gz,smoke.log}.
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "usage: ${0##*/} [-h]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_all=$(now)

t=$(now); "$here/provision.sh"; t_prov=$(since "$t")

work="$IGBPOLL_QEMU_CACHE/smoke"
mkdir -p "$work"
extra=()
if command -v tcpdump >/dev/null; then extra+=("$(command -v tcpdump)=/usr/bin/tcpdump"); fi
t=$(now); "$here/mkinitramfs.sh" -s "$here/guest/smoke.sh" "$work/smoke.cpio.gz" "${extra[@]}"; t_initrd=$(since "$t")

t=$(now)
set +e
"$here/run-guest.sh" -l "$work/smoke.log" "$work/smoke.cpio.gz"
rc=$?
set -e
t_boot=$(since "$t")

echo "smoke: provision ${t_prov}s, initramfs ${t_initrd}s, boot to poweroff ${t_boot}s, total $(since "$t_all")s"
if [ "$rc" -ne 0 ]; then
  echo "smoke: FAIL (run-guest rc=$rc, log $work/smoke.log)" >&2
  exit "$rc"
fi
tr -d '\r' < "$work/smoke.log" | grep -q '^SMOKE-OK' || { echo "smoke: FAIL (no SMOKE-OK in $work/smoke.log)" >&2; exit 1; }
echo "smoke: PASS"
