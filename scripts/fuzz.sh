#!/usr/bin/env bash
# Fuzzes igbpoll-stack's parsers with cargo fuzz (libFuzzer) for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     # default 20
#
# Installs cargo-fuzz when missing (from crates.io). cargo fuzz needs a nightly
# compiler: the installed nightly toolchain when there is one, otherwise the
# stable one with RUSTC_BOOTSTRAP=1. Seeds come from the stack's own emitters
# (stack/fuzz/src/bin/seeds.rs). Any crash fails the script and leaves its
# reproducer under stack/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../stack/fuzz"
secs=${1:-20}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  cargo=(cargo +nightly)
else
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
fi
fuzz=("${cargo[@]}" fuzz)

"${fuzz[@]}" build --release wire
mkdir -p corpus/wire
"${cargo[@]}" run --quiet --release --bin seeds -- corpus/wire
for target in $("${fuzz[@]}" list); do
  [ "$target" = seeds ] && continue
  echo "fuzzing $target for ${secs}s"
  mkdir -p "corpus/$target"
  "${fuzz[@]}" run --release "$target" "corpus/$target" -- \
    -max_total_time="$secs" -print_final_stats=1 2>&1 | tail -n 12
  status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $target failed (exit $status); reproducers:" >&2
    ls -1 "artifacts/$target" >&2 || true
    exit 1
  fi
done
