#!/usr/bin/env bash
# Benchmarks that print figures (not timed tests: these machines are shared and noisy).
#
#   scripts/bench.sh            # everything below
#
# 1. RX to application: hw-sim's DMA engine on one core, the driver on the other,
#    batch sizes 1/8/32/128; and the driver's own cost per packet (ring pre-filled).
# 2. Instructions per received packet (rx_batch + refill + packet drop), counted
#    with valgrind's callgrind, since these machines have no hardware counters.
# 3. `igbpoll capture -w` of 60-byte frames into a file on tmpfs, whole process;
#    pinned (simulator on CPU 0, receive + writer on CPU 1); the writer's
#    instructions per packet (callgrind); the writer stage apart (the real
#    writer thread fed from another core, to tmpfs and to /dev/null); paced
#    mixed-size traffic, where the writer must drop nothing; the kernel's
#    writev floor.
# 4. The SPSC ring between two threads.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/pin.sh

echo "== 1. RX benchmark (cargo bench -p igbpoll-tests --bench rx)"
cargo bench -q -p igbpoll-tests --bench rx 2>/dev/null | grep -E "Mpps|ns/packet|=="

echo
echo "== 2. instructions per packet (callgrind, driver-only, igb, batch 32; dropped, then recycled)"
if command -v valgrind >/dev/null; then
  bench=$(ls -t target/release/deps/rx-* | grep -v '\.d$' | head -1)
  for mode in driver-only driver-only-recycle; do
    out=$(mktemp)
    log=$(valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*drain_once*' \
          "$bench" "$mode" 2>&1)
    pkts=$(echo "$log" | sed -n 's/.*ns\/packet.*), \([0-9]*\) packets/\1/p')
    ir=$(echo "$log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    rm -f "$out"
    echo "$mode: $ir instructions for $pkts packets: $((ir / pkts)) instructions per packet"
  done
else
  echo "valgrind not installed: skipped"
fi

echo
echo "== 3. igbpoll --sim igb --sim-size 60 capture -c 5000000 -w /dev/shm/igbpoll-bench.pcap (3 runs)"
cargo build -q --release -p igbpoll
for i in 1 2 3; do
  for m in igb e1000; do
    printf '%-6s ' "$m"
    ./target/release/igbpoll --sim "$m" --sim-size 60 capture -c 5000000 \
      -w /dev/shm/igbpoll-bench.pcap 2>&1 | grep 'packets/s'
  done
done
rm -f /dev/shm/igbpoll-bench.pcap

echo
echo "== 3b. the same, simulator pinned to CPU 0, receive + writer threads sharing CPU 1, 3 s:"
echo "       3 runs with the default ring of 1024 descriptors and 3 with --ring 4096, into a ring"
echo "       of files (-C 100 -W 4); then 2 into one growing file (beyond the first GB or so, each"
echo "       new tmpfs page costs this VM a fault in the host: see scripts/bench-vs-tcpdump.sh)"
# All threads start on CPU 1; the simulator's DMA thread is moved to CPU 0 as
# soon as it exists (a few ms into the 3 s run).
for run in "1024 ring" "1024 ring" "1024 ring" "4096 ring" "4096 ring" "4096 ring" "1024 file" "1024 file"; do
  read -r ring files <<<"$run"
  rot=(); [ "$files" = ring ] && rot=(-C 100 -W 4)
  printf -- '--ring %s, %-4s ' "$ring" "$files:"
  taskset -c 1 ./target/release/igbpoll --sim igb --sim-size 60 capture --duration 3 \
    --ring "$ring" "${rot[@]}" -w /dev/shm/igbpoll-bench.pcap 2>/tmp/igbpoll-bench.$$ &
  pid=$!
  pin_sim_thread $pid 0 || true
  wait $pid
  grep -E 'packets/s|per packet' /tmp/igbpoll-bench.$$ | tr '\n' ' '; echo
  rm -f /dev/shm/igbpoll-bench.pcap*
done
rm -f /tmp/igbpoll-bench.$$

echo "== 3c. writer thread's user-space instructions per packet (callgrind, 300,000 packets)"
if command -v valgrind >/dev/null; then
  out=$(mktemp)
  log=$(valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*writer*run*' \
        ./target/release/igbpoll --sim igb --sim-size 60 capture -c 300000 \
        -w /dev/shm/igbpoll-bench.pcap 2>&1)
  ir=$(echo "$log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  rm -f "$out" /dev/shm/igbpoll-bench.pcap
  echo "$ir instructions for 300000 packets: $((ir / 300000)) per packet (system calls not included)"
else
  echo "valgrind not installed: skipped"
fi

echo
echo "== 3c'. the writer stage apart: the real writer thread fed from another core (cargo bench --bench writer)"
cargo bench -q -p igbpoll --bench writer 2>/dev/null | grep -E "ns busy|=="
cargo bench -q -p igbpoll --bench writer -- /dev/null 2>/dev/null | grep -E "ns busy|=="

echo
echo "== 3e. paced mixed-size traffic on an oversubscribed machine (simulator, receive and writer"
echo "       threads on 2 cores): --sim-rate 200000/500000 --duration 2, drops must stay 0"
for rate in 200000 200000 500000 500000; do
  printf -- '--sim-rate %s: ' "$rate"
  ./target/release/igbpoll --sim igb --sim-rate "$rate" capture --duration 2 \
    -w /dev/shm/igbpoll-bench.pcapng 2>&1 | grep -E 'captured|dropped by the NIC|fell behind' \
    | sed 's/ (.*//' | tr '\n' ' '; echo
done
rm -f /dev/shm/igbpoll-bench.pcapng

echo
echo "== 3d. the kernel's floor: writev of pre-built records into tmpfs (cargo bench --bench writev)"
cargo bench -q -p igbpoll-tests --bench writev 2>/dev/null | grep -E "ns CPU|=="

echo
echo "== 4. SPSC ring (cargo run --release -p igbpoll-ring --example ring_bench)"
cargo run -q --release -p igbpoll-ring --example ring_bench 2>/dev/null
