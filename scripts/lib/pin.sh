# Sourced by the benchmark scripts.
# pin_sim_thread PID CPU: moves the simulator's DMA thread (hw-sim-dma) of the
# igbpoll process PID to CPU as soon as the thread exists (it starts a few ms
# into the run; waits at most a second).
pin_sim_thread() {
  local pid=$1 cpu=$2 tid
  for _ in $(seq 100); do
    tid=$(grep -l '^hw-sim-dma$' /proc/"$pid"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5 || true)
    [ -n "$tid" ] && { taskset -p -c "$cpu" "$tid" >/dev/null; return 0; }
    sleep 0.01
  done
  echo "pin_sim_thread: no hw-sim-dma thread in process $pid" >&2
  return 1
}
