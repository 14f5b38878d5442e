# Shared helpers for the qemu/ harness scripts. Sourced, not executed.
# shellcheck shell=bash

IGBPOLL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IGBPOLL_QEMU_CACHE="${IGBPOLL_QEMU_CACHE:-$IGBPOLL_REPO/.cache/qemu}"
# Where provision.sh leaves the guest kernel, its modules and the load-order lists.
IGBPOLL_GUEST_KERNEL_DIR="$IGBPOLL_QEMU_CACHE/guest-kernel"

die() { echo "${0##*/}: error: $*" >&2; exit 1; }
note() { echo "${0##*/}: $*" >&2; }

# True when the installed QEMU offers the emulated 82576 (`-device igb`, QEMU >= 8.0).
qemu_has_igb() {
  command -v qemu-system-x86_64 >/dev/null 2>&1 || return 1
  qemu-system-x86_64 -device help 2>/dev/null | grep -q '^name "igb"'
}
