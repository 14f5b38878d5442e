#!/usr/bin/env bash
# Builds igbpoll (installing libpcap-dev first when it is missing: the filter
# compiler links libpcap) and runs it with the given arguments.
#
#   scripts/run.sh --sim igb capture -c 20
#   sudo scripts/run.sh --pci 0000:03:00.0 capture -w x.pcapng
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
. "$repo/scripts/lib/deps.sh"
ensure_pkgs libpcap-dev
cargo build --quiet --release --manifest-path "$repo/Cargo.toml" -p igbpoll
exec "$repo/target/release/igbpoll" "$@"
