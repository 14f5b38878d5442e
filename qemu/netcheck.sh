#!/usr/bin/env bash
# Check the harness's frame path in both directions before any igbpoll code is
# involved: boot the guest with the kernel's own igb and e1000 drivers
# (igbpoll.bind=none igbpoll.kmods=1), inject 0x88B5 frames from the host over
# the -netdev dgram links (qemu/udp-frames.py) and require tcpdump in the guest
# to see them, and require the guest's ARP broadcasts to reach the host from
# each NIC's MAC. Needs tcpdump and python3 on the host.
#
# usage: qemu/netcheck.sh [-h]
# Environment: as run-guest.sh (IGBPOLL_IGB_PORTS, IGBPOLL_E1000_PORTS, ...).
set -euo pipefail
. "$(dirname "$0")/common.sh"
case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "usage: ${0##*/} [-h]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
command -v tcpdump >/dev/null || die "tcpdump missing on the host (it is copied into the guest)"
command -v python3 >/dev/null || die "python3 missing on the host"
igb_ports="${IGBPOLL_IGB_PORTS:-40110:40111}"
e1000_ports="${IGBPOLL_E1000_PORTS:-40120:40121}"

"$here/provision.sh" >/dev/null
work="$IGBPOLL_QEMU_CACHE/netcheck"
mkdir -p "$work"
"$here/mkinitramfs.sh" -s "$here/guest/netcheck.sh" "$work/netcheck.cpio.gz" "$(command -v tcpdump)=/usr/bin/tcpdump"

python3 "$here/udp-frames.py" --duration 150 "igb=$igb_ports" "e1000=$e1000_ports" > "$work/host.txt" &
helper=$!
trap 'kill "$helper" 2>/dev/null || true' EXIT
set +e
"$here/run-guest.sh" -i "$igb_ports" -e "$e1000_ports" -d "$work" -l "$work/netcheck.log" -a "igbpoll.bind=none igbpoll.kmods=1" "$work/netcheck.cpio.gz"
rc=$?
set -e
kill "$helper"; wait "$helper" || true; trap - EXIT
cat "$work/host.txt"
[ "$rc" -eq 0 ] || { echo "netcheck: FAIL (guest rc=$rc, log $work/netcheck.log)" >&2; exit "$rc"; }
grep -q '^udp-frames: igb .* from=.*52:54:00:12:34:56/0806:[1-9]' "$work/host.txt" ||
  { echo "netcheck: FAIL: no ARP from the igb MAC reached the host" >&2; exit 1; }
grep -q '^udp-frames: e1000 .* from=.*52:54:00:12:34:57/0806:[1-9]' "$work/host.txt" ||
  { echo "netcheck: FAIL: no ARP from the e1000 MAC reached the host" >&2; exit 1; }
echo "netcheck: PASS (pcaps: $work/igb.pcap $work/e1000.pcap)"
