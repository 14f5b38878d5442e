#!/bin/sh
# Guest side of qemu/smoke.sh: runs as /guest.sh after /init bound the NICs.
# Lists the PCI devices, shows each Intel NIC's driver and IOMMU group, and
# checks that /dev/vfio/GROUP exists and the IOMMU is the emulated VT-d.
fail=0
echo "--- /sys/bus/pci/devices"
for d in /sys/bus/pci/devices/*; do
  drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
  echo "$(basename "$d") $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class") driver ${drv:--}"
done
echo "--- intel NICs"
seen_igb=0 seen_e1000=0
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor")" = 0x8086 ] || continue
  case "$(cat "$d/device")" in
    0x10c9) seen_igb=1 ;;
    0x100e) seen_e1000=1 ;;
    *) continue ;;
  esac
  bdf=$(basename "$d")
  drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
  group=$(basename "$(readlink "$d/iommu_group" 2>/dev/null)" 2>/dev/null)
  members=$(ls "$d/iommu_group/devices" 2>/dev/null | tr '\n' ' ')
  echo "$bdf driver=${drv:-none} iommu_group=${group:-none} group_members=$members"
  [ "$drv" = vfio-pci ] || { echo "SMOKE-FAIL: $bdf not bound to vfio-pci"; fail=1; }
  [ -n "$group" ] && [ -c "/dev/vfio/$group" ] || { echo "SMOKE-FAIL: /dev/vfio/$group missing for $bdf"; fail=1; }
  [ "$members" = "$bdf " ] || { echo "SMOKE-FAIL: $bdf not alone in its IOMMU group ($members)"; fail=1; }
done
[ $seen_igb = 1 ] || { echo "SMOKE-FAIL: no 8086:10c9 (igb) in the guest"; fail=1; }
[ $seen_e1000 = 1 ] || { echo "SMOKE-FAIL: no 8086:100e (e1000) in the guest"; fail=1; }
echo "--- /dev/vfio"; ls -l /dev/vfio
echo "--- iommu"; ls /sys/class/iommu 2>/dev/null
[ -n "$(ls /sys/class/iommu 2>/dev/null)" ] || { echo "SMOKE-FAIL: no IOMMU in /sys/class/iommu"; fail=1; }
echo "--- hugepages"; grep -E '^(HugePages_Total|HugePages_Free|Hugepagesize)' /proc/meminfo
echo "--- env"; env | grep '^IGBPOLL_' | sort
[ "$IGBPOLL_IGB_BDF" = 0000:00:02.0 ] || { echo "SMOKE-FAIL: IGBPOLL_IGB_BDF=$IGBPOLL_IGB_BDF"; fail=1; }
[ "$IGBPOLL_E1000_BDF" = 0000:00:03.0 ] || { echo "SMOKE-FAIL: IGBPOLL_E1000_BDF=$IGBPOLL_E1000_BDF"; fail=1; }
if [ -x /usr/bin/tcpdump ]; then
  echo "--- tcpdump (dynamically linked host binary)"
  tcpdump --version 2>&1 | head -2 || fail=1
fi
[ $fail = 0 ] && echo "SMOKE-OK"
exit $fail
