#!/bin/sh
# /guest.sh of the stack's smoke test in QEMU (apps/tests/qemu_serve.rs):
# each NIC sits on a host TAP device (run-guest.sh -i/-e tap:IFNAME) and the
# host kernel in the TAP's namespace pings, curls and transfers against it.
#
# Boot with igbpoll.bind=none igbpoll.kmods=1 (the kernel's igb and e1000 own
# the NICs at first) and igbpoll.serve=STEP[,STEP...], run in order, where STEP
# is MODE:NIC:ADDR/PREFIX:
#   kernel:NIC:A/P   the guest kernel's own driver, A/P on its interface (the
#                    harness checked without igbpoll: the TAP path and the host's
#                    tools); the interface stays up with its address afterwards.
#                    With igbpoll.blob=N, busybox httpd also serves N random bytes
#                    at /blob (their SHA-256 printed as "IGBPOLL-T: blob HEX"),
#                    and busybox nc takes one upload on TCP port 9 (its SHA-256
#                    printed as "IGBPOLL-T: upload HEX"): baselines for the rates
#   igbpoll:NIC:A/P  `igbpoll bind BDF` (when the kernel's interface is up with an
#                    address: first without taking it down, which must be refused,
#                    "rc bind-in-use-NIC N"), then `igbpoll --pci BDF serve --ip
#                    A/P --http 80 --tcp-echo 7 --udp-echo 7 --msl-ms 200 --stats`
#                    (its counters on the console every second)
# NIC is igb or e1000. Each step prints "IGBPOLL-T: wait MODE NIC" once the NIC
# is serving (for igbpoll, serve prints its "igbpoll serve:" banner once the NIC
# is up), then reads one line from the serial console (run-guest.sh -c): the
# host types it when its checks are done. The step then ends (serve gets
# SIGTERM and prints its "stack at exit:" counters) and prints
# "IGBPOLL-T: rc MODE-NIC N". Exits 0 when every step could be run.
T() { echo "IGBPOLL-T: $*"; }

steps=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^igbpoll\.serve=//p' | tail -1)
[ -n "$steps" ] || { T "error no igbpoll.serve= on the kernel command line"; exit 2; }

BLOB=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^igbpoll\.blob=//p' | tail -1)

netdev_of() { ls "/sys/bus/pci/devices/$1/net" 2>/dev/null | head -1; }

# wait_host MODE NIC: tell the host this step is serving; wait for its line.
wait_host() {
  T "wait $1 $2"
  if read -r -t 600 line; then T "host said '$line'"; else T "host said nothing"; fi
}

run_kernel() {  # run_kernel NIC BDF ADDR/PREFIX
  i=$(netdev_of "$2")
  [ -n "$i" ] || { T "error no kernel interface for $2"; return 1; }
  ip link set "$i" up && ip addr add "$3" dev "$i" || return 1
  n=0  # igb's link comes up after autonegotiation (about 1 s)
  while [ "$(cat "/sys/class/net/$i/carrier" 2>/dev/null)" != 1 ] && [ $n -lt 100 ]; do
    sleep 0.1; n=$((n + 1))
  done
  T "kernel $1 $i $(cat "/sys/class/net/$i/address") carrier $(cat "/sys/class/net/$i/carrier")"
  httpd_pid=""
  if [ "${BLOB:-0}" -gt 0 ]; then
    mkdir -p /tmp/www
    head -c "$BLOB" /dev/urandom > /tmp/www/blob
    T "blob $(sha256sum /tmp/www/blob | cut -d' ' -f1)"
    httpd -f -p 80 -h /tmp/www &
    httpd_pid=$!
    (nc -l -p 9 </dev/null | sha256sum | sed 's/^\([0-9a-f]*\).*/IGBPOLL-T: upload \1/') &
  fi
  wait_host kernel "$1"
  [ -z "$httpd_pid" ] || kill $httpd_pid
}

run_igbpoll() {  # run_igbpoll NIC BDF ADDR/PREFIX
  i=$(netdev_of "$2")
  if [ -n "$i" ] && ip -4 addr show dev "$i" | grep -q inet; then
    igbpoll bind "$2"; T "rc bind-in-use-$1 $?"
    ip addr flush dev "$i"
    ip link set "$i" down
  fi
  igbpoll bind "$2"; rc=$?; T "rc bind-$1 $rc"
  [ $rc = 0 ] || return $rc
  igbpoll --pci "$2" serve --ip "$3" --http 80 --tcp-echo 7 --udp-echo 7 --msl-ms 200 --stats </dev/null &
  pid=$!
  sleep 2  # a serve that failed at once (bad option, NIC bring-up) ends the step
  kill -0 $pid 2>/dev/null || { wait $pid; return $?; }
  wait_host igbpoll "$1"
  kill -TERM $pid 2>/dev/null
  wait $pid
}

fail=0
for step in $(echo "$steps" | tr ',' ' '); do
  mode=${step%%:*}; rest=${step#*:}; nic=${rest%%:*}; addr=${rest#*:}
  case "$nic" in
    igb) bdf=$IGBPOLL_IGB_BDF ;;
    e1000) bdf=$IGBPOLL_E1000_BDF ;;
    *) T "error unknown NIC in $step"; exit 2 ;;
  esac
  [ -n "$bdf" ] || { T "error no $nic in this guest"; exit 2; }
  case "$mode" in
    kernel) run_kernel "$nic" "$bdf" "$addr" ;;
    igbpoll) run_igbpoll "$nic" "$bdf" "$addr" ;;
    *) T "error unknown mode in $step"; exit 2 ;;
  esac
  rc=$?
  T "rc $mode-$nic $rc"
  [ $rc = 0 ] || fail=1
done
exit $fail
