#!/usr/bin/env bash
# igbpoll side by side with the kernel: in the same QEMU guest, on the same
# emulated NIC, with the same injected bursts, capture first with the guest
# kernel's own driver (igb / e1000) + tcpdump, then with igbpoll (`igbpoll bind`
# in the same boot), and print packets offered / captured and guest CPU time.
# One boot per NIC model (igb = emulated 82576, e1000 = emulated 82540EM).
#
# usage: qemu/bench-vs-kernel.sh [-s "NAME:COUNT:RATE ..."] [-w DRAIN_S] [-N "igb e1000"] [-o DIR] [-b IGBPOLL]
#
#   -s BURSTS   the bursts, each NAME:COUNT:RATE (RATE frames/s; 0 = back to back,
#               as fast as the host can, which mostly measures the UDP socket
#               buffer of QEMU's netdev). NAME ending in 60: 60-byte frames;
#               any other NAME: 60..1514 bytes (fixed seed, the same sizes every
#               time). Default:
#                 paced60:20000:20000  20,000 x 60 B at 20 kpps (1 s): below what
#                                      the emulated NICs take, so both capturers
#                                      should get every frame: compares CPU cost
#                 mixed:10000:5000     10,000 x 60..1514 B at 5 kpps (2 s)
#                 flood60:50000:100000 50,000 x 60 B at 100 kpps (0.5 s): above
#                                      it: compares how many get through
#   -w DRAIN_S  seconds the guest keeps capturing after the burst's send time
#               (default 3); the window is also longer by the NIC's hold
#               (e1000: 1.5 s for QEMU's 1 s RCTL hold, igb: 0.2 s)
#   -N NICS     NIC models to run (default "igb e1000")
#   -b IGBPOLL  use this igbpoll binary instead of `cargo build --release -p igbpoll`
#   -o DIR      artifacts: logs, QEMU filter-dump pcaps, results.tsv
#               (default $IGBPOLL_QEMU_CACHE/bench)
#
# Frames: ethertype 0x88B5 to the NIC's own MAC, nothing else on the link (the
# guest's IPv6 is off). The host injects each burst after the guest prints
# that the capturer is ready (tcpdump "listening on", igbpoll "capturing on").
# Columns: offered = frames the host's sendto() accepted; reached-QEMU = frames
# QEMU read from its UDP socket (filter-dump; the rest overflowed the socket
# buffer); NIC-rx = the kernel interface's rx_packets delta / igbpoll's NIC
# counter; captured = tcpdump's / igbpoll's "N packets captured"; guest-CPU-ms =
# elapsed - idle (/proc/uptime, /proc/stat) of the 1-vCPU guest over the
# capture window; tick-busy-ms = /proc/stat user+nice+system+irq+softirq+steal
# (tick-sampled: undercounts under TCG); proc-CPU-ms = the
# capturer's own utime+stime; both per captured packet in the last columns.
# Needs: qemu/provision.sh done, tcpdump and python3 on the host, cargo.
set -euo pipefail
. "$(dirname "$0")/common.sh"
here="$(cd "$(dirname "$0")" && pwd)"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

bursts="paced60:20000:20000 mixed:10000:5000 flood60:50000:100000" drain=3 nics="igb e1000" bin="" out="$IGBPOLL_QEMU_CACHE/bench"
while getopts ':s:w:N:o:b:h' opt; do
  case "$opt" in
    s) bursts="$OPTARG" ;;
    w) drain="$OPTARG" ;;
    N) nics="$OPTARG" ;;
    o) out="$OPTARG" ;;
    b) bin="$OPTARG" ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ "$drain" =~ ^[0-9]+$ ]] || die "-w: not a number: $drain"
for b in $bursts; do [[ "$b" =~ ^[a-z0-9]+:[0-9]+:[0-9]+$ ]] || die "-s: bad burst '$b' (NAME:COUNT:RATE)"; done
[ -n "$bursts" ] || die "-s: no bursts"
command -v tcpdump >/dev/null || die "tcpdump missing on the host (it is copied into the guest)"
command -v python3 >/dev/null || die "python3 missing on the host"

"$here/provision.sh" >/dev/null
if [ -z "$bin" ]; then
  (cd "$IGBPOLL_REPO" && cargo build --release -q -p igbpoll) || die "cargo build --release -p igbpoll failed"
  bin="$IGBPOLL_REPO/target/release/igbpoll"
fi
[ -x "$bin" ] || die "igbpoll binary $bin not found"

mkdir -p "$out"
rm -f "$out/results.tsv"
cat > "$out/bench.conf" <<CONF
BENCH_BURSTS="$bursts"
BENCH_DRAIN_S=$drain
BENCH_HOLD_IGB_MS=200
BENCH_HOLD_E1000_MS=1500
CONF
"$here/mkinitramfs.sh" -s "$here/bench/guest.sh" "$out/bench.cpio.gz" \
  "$bin=/bin/igbpoll" "$(command -v tcpdump)=/usr/bin/tcpdump" "$out/bench.conf=/bench.conf" >&2

free_udp() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

t0=$(date +%s)
fail=0
for nic in $nics; do
  case "$nic" in igb|e1000) ;; *) die "unknown NIC model $nic (igb, e1000)" ;; esac
  ip="$(free_udp):$(free_udp)" ep="$(free_udp):$(free_udp)"
  if [ "$nic" = igb ]; then q=${ip%%:*}; else q=${ep%%:*}; fi
  rm -f "$out/$nic.pcap" "$out/igb.pcap" "$out/e1000.pcap"
  note "$nic: booting (bursts: $bursts)"
  set +e
  python3 "$here/bench/host.py" boot --nic "$nic" --qport "$q" --dump "$out/$nic.pcap" \
    --tsv "$out/results.tsv" --label "$nic" -- \
    "$here/run-guest.sh" -t 240 -i "$ip" -e "$ep" -d "$out" -l "$out/$nic.log" \
    -a "igbpoll.bind=none igbpoll.kmods=1 igbpoll.benchnic=$nic" "$out/bench.cpio.gz"
  rc=$?
  set -e
  [ "$rc" = 0 ] || { note "$nic: guest failed (rc=$rc, log $out/$nic.log)"; fail=1; }
done

echo
echo "bench-vs-kernel: bursts (NAME:FRAMES:FRAMES/S) $bursts; *60 = 60-byte frames, others 60..1514 bytes"
python3 "$here/bench/host.py" table "$out/results.tsv"
echo "guest-CPU-ms: elapsed (/proc/uptime) minus idle (/proc/stat idle+iowait) of the 1-vCPU guest over the window (GO to"
echo "capture end); tick-busy-ms: /proc/stat user+nice+system+irq+softirq+steal over it (undercounts under TCG: lost ticks); proc-CPU-ms: the"
echo "capturer's utime+stime over the same window; per packet: divided by captured. igbpoll busy-polls: it takes the whole"
echo "window whatever arrives, so its per-packet figure is window/captured. Under TCG the emulated NIC and QEMU's"
echo "netdev set the rate. offered - reached-QEMU: lost in the host UDP socket before QEMU read it; reached-QEMU - captured:"
echo "lost in the emulated NIC, the driver or the capturer."
echo "bench-vs-kernel: $(( $(date +%s) - t0 )) s, artifacts in $out"
exit "$fail"
