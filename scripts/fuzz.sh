#!/usr/bin/env bash
# Fuzzes igbpoll-stack's parsers with cargo fuzz (libFuzzer, AddressSanitizer,
# debug assertions so arithmetic overflow panics) for a bounded time: every
# target in stack/fuzz/fuzz_targets/, one after the other.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     # default 15
#   FUZZ_TARGETS="ipv4 tcp" scripts/fuzz.sh  # only these targets
#   IGBPOLL_FUZZ_DETERMINISM=0 ...           # iface: skip the check that a second run
#       of every input sends the same frames (on by default)
#
# Each target checks a real property on whatever parses (it re-emits and
# re-parses to the same representation), not only the absence of panics.
# Installs cargo-fuzz when missing (from crates.io). cargo fuzz needs a nightly
# compiler: the installed nightly toolchain when there is one, otherwise the
# stable one with RUSTC_BOOTSTRAP=1. The fuzzer starts from seeds the stack's
# own emit code writes (stack/fuzz/seeds) and keeps what it learns in
# stack/fuzz/corpus/ (not in git). Any crash fails the script, after the other
# targets have run, and names the reproducer under stack/fuzz/artifacts/
# together with the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/../stack/fuzz"
secs=${1:-15}
case "$secs" in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac

t0=$(date +%s)
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
  cargo install cargo-fuzz --locked --quiet
fi
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
  cargo=(cargo +nightly)
  toolchain=nightly
else
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
  toolchain="stable with RUSTC_BOOTSTRAP=1"
fi
# -a: debug assertions (and so overflow checks) in the stack's code.
fuzz_flags=(--release -a --sanitizer address)

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <("${cargo[@]}" fuzz list)
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets found (cargo fuzz list)" >&2
  exit 1
fi
echo "cargo fuzz on $toolchain: ${targets[*]}, ${secs}s each"

# Seeds: valid packets from the stack's emitters, rewritten on every run (the
# generator checks that each one parses). Read-only to the fuzzer: it adds what
# it finds to corpus/TARGET.
rm -rf target/seeds
"${cargo[@]}" run --quiet --release -p igbpoll-stack-fuzz-seeds -- target/seeds
"${cargo[@]}" fuzz build "${fuzz_flags[@]}"
t_build=$(date +%s)
echo "setup and build took $(( t_build - t0 ))s"

mkdir -p target/fuzz-logs
failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "target/seeds/$t"
  log=target/fuzz-logs/$t.log
  status=0
  # -timeout: an input that takes longer than 10 s is a hang, reported as a crash.
  "${cargo[@]}" fuzz run "${fuzz_flags[@]}" "$t" "corpus/$t" "target/seeds/$t" -- \
    -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  line=$(printf '%-10s %10s execs %8s/s  %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-}")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    line="$line  FAILED (exit $status)"
    echo "== $t failed (exit $status); its whole log: stack/fuzz/$log" >&2
    grep -m 3 -A 2 -E 'panicked at|ERROR: (AddressSanitizer|libFuzzer)|^SUMMARY' "$log" >&2 || tail -n 20 "$log" >&2
    for a in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
      a=${a#"$PWD/"}
      echo "reproducer: stack/fuzz/$a" >&2
      echo "replay:     (cd stack/fuzz && ${cargo[*]} fuzz run ${fuzz_flags[*]} $t $a)" >&2
    done
  fi
  echo "$line"
done

echo "fuzzed ${#targets[@]} targets for ${secs}s each in $(( $(date +%s) - t_build ))s (setup and build $(( t_build - t0 ))s)"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (reproducers above, under stack/fuzz/artifacts/)" >&2
  exit 1
fi
