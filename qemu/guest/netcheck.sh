#!/bin/sh
# Guest side of qemu/netcheck.sh (booted with igbpoll.bind=none igbpoll.kmods=1,
# so the kernel's igb and e1000 drivers own the NICs): brings both interfaces
# up, captures the host's injected 0x88B5 frames with tcpdump, and sends ARP
# broadcasts the host must receive.
fail=0
ifs=""
for bdf in "$IGBPOLL_IGB_BDF" "$IGBPOLL_E1000_BDF"; do
  i=$(ls "/sys/bus/pci/devices/$bdf/net" 2>/dev/null | head -1)
  [ -n "$i" ] || { echo "NETCHECK-FAIL: no netdev for $bdf"; fail=1; continue; }
  echo "$bdf -> $i $(cat /sys/class/net/$i/address)"
  ip link set "$i" up
  ifs="$ifs $i"
done
for i in $ifs; do  # igb's link comes up after autonegotiation (about 1 s)
  n=0; while [ "$(cat /sys/class/net/$i/carrier 2>/dev/null)" != 1 ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n+1)); done
  echo "$i carrier $(cat /sys/class/net/$i/carrier 2>/dev/null)"
done
echo "IGBPOLL-GUEST: netcheck capturing"
for i in $ifs; do
  timeout 30 tcpdump -Z root -i "$i" -n -c 3 -e ether proto 0x88b5 > "/tmp/$i.txt" 2>"/tmp/$i.err" &
done
sleep 1
for i in $ifs; do arping -c 3 -w 3 -I "$i" -s 10.99.0.2 10.99.0.1 >/dev/null 2>&1 & done
wait
for i in $ifs; do
  got=$(grep -c 'ethertype Unknown (0x88b5)\|0x88b5' "/tmp/$i.txt")
  echo "$i: tcpdump saw $got injected frames"; head -3 "/tmp/$i.txt"
  [ "$got" -ge 3 ] || { echo "NETCHECK-FAIL: $i received $got of 3 injected frames"; cat "/tmp/$i.err"; fail=1; }
done
[ $fail = 0 ] && echo "NETCHECK-OK"
exit $fail
