#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need when it is
# missing (Debian packages; needs root for that), then formatting, lints, and
# every test of every crate against the real driver code.
#
#   scripts/test-all.sh            # everything, the QEMU/VFIO guests included
#   IGBPOLL_SKIP_INSTALL=1 ...     # never call apt-get
#   IGBPOLL_QEMU=0 ...             # leave out the QEMU guests (they need root the
#                                  # first time, to install QEMU and fetch a kernel)
#   IGBPOLL_FUZZ=0 ...             # leave out the fuzz step (about 2 min)
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

. scripts/lib/deps.sh
# tcpdump and tshark/capinfos read what igbpoll writes; libpcap-dev is for the
# filter compiler (the `pcap` crate links libpcap). The stack's tests against the
# Linux kernel (apps/tests/serve_kernel.rs) use ping, arping, socat, curl and
# nftables inside network namespaces they create (iproute2). g++ builds
# libFuzzer for the fuzz step (cargo fuzz; scripts/fuzz.sh).
pkgs=(tcpdump tshark wireshark-common libpcap-dev
      iputils-ping iputils-arping socat curl nftables iproute2 g++)
if [ -z "${IGBPOLL_SKIP_INSTALL:-}" ]; then
  ensure_pkgs "${pkgs[@]}"
fi

if [ "${IGBPOLL_QEMU:-1}" = 1 ]; then
  # QEMU >= 8 with igb (Debian backports), busybox-static, cpio and the guest
  # kernel, installed and cached once (.cache/qemu); about 30 s cold, 0.1 s warm.
  step "QEMU guest provisioning (qemu/provision.sh)"
  qemu/provision.sh
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (release build: the simulator's DMA thread runs at speed)"
cargo test --workspace --release

if [ "${IGBPOLL_FUZZ:-1}" = 1 ]; then
  # Every wire parser and the interface under cargo fuzz, 15 s per target:
  # about 2 min warm, 2.7 min cold (the build) on 2 cores.
  step "fuzz the stack (scripts/fuzz.sh, 15 s per target)"
  scripts/fuzz.sh 15
fi

if [ "${IGBPOLL_QEMU:-1}" = 1 ]; then
  # The real VFIO path: igbpoll in a guest with an emulated IOMMU, on QEMU's
  # igb and e1000 (apps/tests/qemu_vfio.rs), the harness's own checks, and
  # `igbpoll serve` on both NICs against the host kernel over TAP devices in a
  # network namespace (apps/tests/qemu_serve.rs: ping, curl, SHA-256 transfers).
  step "QEMU/VFIO guests"
  qemu_start=$(date +%s)
  cargo test --release -p igbpoll --test qemu_vfio --test qemu_serve -p igbpoll-tests --test qemu -- --ignored
  echo "QEMU guests took $(( $(date +%s) - qemu_start )) s"
fi

step "done"
