#!/usr/bin/env bash
# The QEMU end-to-end checks as one command, for CI: provision (root needed the
# first time; cached afterwards), then smoke.sh (both NICs bound to vfio-pci in
# a guest with an emulated VT-d IOMMU) and netcheck.sh (frames both ways over
# the UDP netdevs, with the guest kernel's own drivers). Stops at the first
# failure and prints the time of each step.
#
# usage: qemu/check.sh [-h]
# Environment: IGBPOLL_QEMU_CACHE, IGBPOLL_QEMU_TIMEOUT, IGBPOLL_IGB_PORTS,
# IGBPOLL_E1000_PORTS, IGBPOLL_SKIP_INSTALL (see provision.sh, run-guest.sh).
# Two concurrent runs must use different IGBPOLL_QEMU_CACHE and ports.
set -euo pipefail
. "$(dirname "$0")/common.sh"
case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "usage: ${0##*/} [-h]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
for step in smoke netcheck; do
  t=$(date +%s.%N)
  echo "== qemu/$step.sh"
  "$here/$step.sh"
  echo "== qemu/$step.sh passed in $(since "$t")s"
done
echo "== qemu checks passed in $(since "$t0")s"
