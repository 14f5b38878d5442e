#!/bin/sh
# Guest side of qemu/bench-vs-kernel.sh. Booted with igbpoll.bind=none
# igbpoll.kmods=1 igbpoll.benchnic=igb|e1000: the kernel's igb and e1000 drivers
# own both NICs. On the chosen NIC it captures every burst in /bench.conf first
# with the kernel driver + tcpdump, then hands the NIC to vfio-pci
# (`igbpoll bind`) and captures the same bursts with igbpoll.
#
# Per run: start the capturer, wait for its ready line ("listening on" /
# "capturing on"), sample /proc/stat, print "BENCH-GO ..." (the host injects the
# burst when it reads that line), sleep a fixed window (the e1000's 1 s RCTL
# hold + the burst's send time + BENCH_DRAIN_S), read the capturer's
# utime+stime (minus its value at "GO": start-up is not counted), SIGINT it, wait, sample /proc/stat again and print one
# "BENCH-RESULT key=value..." line. CPU figures are in USER_HZ ticks (100/s).
. /bench.conf

NIC=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^igbpoll\.benchnic=//p' | tail -1)
case "$NIC" in
  igb) BDF=$IGBPOLL_IGB_BDF; HOLD_MS=$BENCH_HOLD_IGB_MS ;;
  e1000) BDF=$IGBPOLL_E1000_BDF; HOLD_MS=$BENCH_HOLD_E1000_MS ;;
  *) echo "BENCH-FAIL: igbpoll.benchnic=igb|e1000 missing from the kernel command line"; exit 2 ;;
esac
IF=$(ls "/sys/bus/pci/devices/$BDF/net" 2>/dev/null | head -1)
[ -n "$IF" ] || { echo "BENCH-FAIL: no kernel interface for $BDF (is igbpoll.kmods=1 set?)"; exit 2; }
echo "BENCH: nic $NIC $BDF interface $IF driver $(basename "$(readlink /sys/bus/pci/devices/$BDF/driver)")"

# busy = user+nice+system+irq+softirq+steal, idle = idle+iowait (first line: all CPUs)
# up_ms = /proc/uptime in ms. Under TCG timer ticks get lost when the host is
# busy, so the tick-sampled busy fields undercount; idle (NO_HZ, measured) does
# not: the report also gives elapsed - idle.
cpu() { awk '/^cpu /{ print $2+$3+$4+$7+$8+$9, $5+$6; exit }' /proc/stat; }
up_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

wait_for() {  # wait_for FILE PATTERN PID: until FILE has PATTERN (30 s)
  n=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || return 1
    n=$((n + 1)); [ $n -lt 300 ] || return 1
    sleep 0.1
  done
}

RUN=0
run() {  # run CAPTURER BURST COUNT RATE
  cap=$1 burst=$2 count=$3 rate=$4
  RUN=$((RUN + 1))
  if [ "$rate" = 0 ]; then send_ms=1000; else send_ms=$(( (count * 1000 + rate - 1) / rate )); fi
  win_ms=$((HOLD_MS + send_ms + BENCH_DRAIN_S * 1000))
  win=$(awk -v m="$win_ms" 'BEGIN { printf "%.3f", m / 1000 }')
  rm -f /tmp/cap.pcap /tmp/cap.err
  if [ "$cap" = kernel ]; then
    rx0=$(cat "/sys/class/net/$IF/statistics/rx_packets")
    tcpdump -Z root -i "$IF" -Q in -n -B 4096 -w /tmp/cap.pcap 2>/tmp/cap.err &
    pid=$!
    ready="listening on"
  else
    igbpoll --pci "$BDF" capture -w /tmp/cap.pcap 2>/tmp/cap.err &
    pid=$!
    ready="capturing on"
  fi
  if ! wait_for /tmp/cap.err "$ready" "$pid"; then
    echo "BENCH-FAIL: $cap did not print '$ready'"; sed 's/^/  | /' /tmp/cap.err
    kill "$pid" 2>/dev/null; return 1
  fi
  u0=$(up_ms); set -- $(cpu); b0=$1 i0=$2
  p0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  echo "BENCH-GO run=$RUN nic=$NIC capturer=$cap burst=$burst count=$count rate=$rate hold_ms=$HOLD_MS"
  sleep "$win"
  pticks=$(( $(awk '{ print $14 + $15 }' "/proc/$pid/stat") - p0 ))
  kill -INT "$pid"
  wait "$pid"; rc=$?
  set -- $(cpu); b1=$1 i1=$2; u1=$(up_ms)
  captured=$(sed -n 's/^\([0-9][0-9]*\) packets\{0,1\} captured.*/\1/p' /tmp/cap.err | tail -1)
  if [ "$cap" = kernel ]; then
    nic_rx=$(( $(cat "/sys/class/net/$IF/statistics/rx_packets") - rx0 ))
  else
    nic_rx=$(sed -n 's/^\([0-9][0-9]*\) packets received by the NIC.*/\1/p' /tmp/cap.err | tail -1)
  fi
  bytes=$(wc -c < /tmp/cap.pcap 2>/dev/null || echo 0)
  sed 's/^/  | /' /tmp/cap.err
  echo "BENCH-RESULT run=$RUN nic=$NIC capturer=$cap burst=$burst rate=$rate offered=$count captured=${captured:-?} nic_rx=${nic_rx:-?} window_ms=$win_ms busy_ticks=$((b1 - b0)) idle_ticks=$((i1 - i0)) elapsed_ms=$((u1 - u0)) proc_ticks=$pticks pcap_bytes=$bytes rc=$rc"
}

bursts() {  # bursts CAPTURER: every burst of /bench.conf
  for spec in $BENCH_BURSTS; do   # NAME:COUNT:RATE
    name=${spec%%:*}; rest=${spec#*:}; count=${rest%%:*}; rate=${rest#*:}
    run "$1" "$name" "$count" "$rate" || return 1
  done
}

# (a) the kernel's driver + tcpdump. No IPv6, so the guest sends nothing of its own.
echo 1 > "/proc/sys/net/ipv6/conf/$IF/disable_ipv6" 2>/dev/null
ip link set "$IF" up promisc on || exit 3
n=0; while [ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" != 1 ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
echo "BENCH: $IF carrier $(cat "/sys/class/net/$IF/carrier" 2>/dev/null)"
sleep 1.2  # past the e1000's 1 s RCTL hold after the up/promisc writes
bursts kernel || exit 4

# (b) igbpoll on the same NIC, same boot.
ip link set "$IF" down
igbpoll bind "$BDF" || igbpoll bind --force "$BDF" || exit 5
bursts igbpoll || exit 6
exit 0
