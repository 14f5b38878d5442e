#!/usr/bin/env bash
# Provision everything the QEMU end-to-end harness needs. Idempotent: a second
# run with a warm cache does nothing and needs no network.
#
# Host (needs root, Debian 12):
#   - qemu-system-x86 >= 8 (for `-device igb`) from bookworm-backports, only if
#     the installed qemu-system-x86_64 lacks igb. The backports apt source is
#     derived from /etc/apt/sources.list.d/debian.sources (same URIs).
#   - busybox-static and cpio (guest userland, initramfs packing).
# Guest (cached under $IGBPOLL_QEMU_CACHE, default $REPO/.cache/qemu):
#   - the current Debian linux-image-6.1.0-*-amd64 (name resolved from
#     `apt-cache depends linux-image-amd64`), unpacked with dpkg -x; kept:
#     vmlinuz, the VFIO modules and the kernel's own e1000/igb (+ deps), all
#     as plain .ko, plus load-order lists computed from the modules' depends= info.
#
# Layout of $IGBPOLL_QEMU_CACHE/guest-kernel after a run:
#   vmlinuz  version  package  modules/*.ko  vfio.order  nic.order  .complete
#
# Environment:
#   IGBPOLL_QEMU_CACHE     cache dir (default $REPO/.cache/qemu)
#   IGBPOLL_QEMU_REFRESH=1 re-resolve and re-download the guest kernel even if cached
#   IGBPOLL_SKIP_INSTALL=1 never call apt-get install (fail if something is missing)
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  echo "usage: ${0##*/} [-h]"
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

t0=$(date +%s.%N)
did=()
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1: run this script as root once (it installs Debian packages)"
  [ -z "${IGBPOLL_SKIP_INSTALL:-}" ] || die "$1, and IGBPOLL_SKIP_INSTALL is set"
}

apt_update() {
  # Apt's package lists are deleted after every install on these machines:
  # refresh right before each use.
  note "apt-get update"
  apt-get update -qq
}

apt_install() {
  note "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- host: qemu-system-x86 with igb --------------------------------------------------

BACKPORTS_LIST=/etc/apt/sources.list.d/igbpoll-bookworm-backports.sources

# Print a deb822 stanza for bookworm-backports using the URIs (and Types,
# Components, Signed-By) of the stanza in debian.sources that carries "bookworm".
derive_backports_source() {
  local src=/etc/apt/sources.list.d/debian.sources
  [ -r "$src" ] || die "$src not found: cannot derive the bookworm-backports apt source"
  awk '
    function flush() {
      if (suites ~ /(^| )bookworm( |$)/ && uris != "" && !done) {
        print "# Derived by igbpoll qemu/provision.sh from debian.sources"
        print "Types: " (types == "" ? "deb" : types)
        print "URIs: " uris
        print "Suites: bookworm-backports"
        print "Components: " (comps == "" ? "main" : comps)
        if (signed != "") print "Signed-By: " signed
        done = 1
      }
      types = uris = suites = comps = signed = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    /^Types:/      { sub(/^Types:[ \t]*/, "");      types = $0 }
    /^URIs:/       { sub(/^URIs:[ \t]*/, "");       uris = $0 }
    /^Suites:/     { sub(/^Suites:[ \t]*/, "");     suites = $0 }
    /^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
    /^Signed-By:/  { sub(/^Signed-By:[ \t]*/, "");  signed = $0 }
    END { flush(); if (!done) exit 1 }
  ' "$src" || die "no stanza with Suites: bookworm in $src"
}

if qemu_has_igb; then
  note "qemu-system-x86_64 has igb: $(qemu-system-x86_64 --version | head -1)"
else
  need_root "qemu-system-x86_64 with -device igb is missing"
  if [ ! -f "$BACKPORTS_LIST" ]; then
    derive_backports_source > "$BACKPORTS_LIST.tmp"
    mv "$BACKPORTS_LIST.tmp" "$BACKPORTS_LIST"
    note "wrote $BACKPORTS_LIST"
    did+=("added bookworm-backports apt source")
  fi
  apt_update
  apt_install -t bookworm-backports qemu-system-x86
  qemu_has_igb || die "installed qemu-system-x86 from bookworm-backports but it still lacks -device igb"
  did+=("installed $(qemu-system-x86_64 --version | head -1)")
fi

# --- host: busybox-static, cpio ----------------------------------------------------------

missing=()
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "missing host packages: ${missing[*]}"
  apt_update
  apt_install "${missing[@]}"
  did+=("installed ${missing[*]}")
fi
[ -x /bin/busybox ] || die "/bin/busybox missing after installing busybox-static"
bb_banner=$(/bin/busybox 2>&1 || true)
[[ "$bb_banner" == BusyBox* ]] || die "/bin/busybox does not run"
if ldd /bin/busybox >/dev/null 2>&1; then die "/bin/busybox is dynamically linked; the guest needs busybox-static"; fi

# --- guest kernel -----------------------------------------------------------------------

# Modules to keep, relative to lib/modules/VER/kernel/, without suffix.
# Dependencies are added from each module's modinfo; a list's .order file is in load order.
VFIO_MODULES="virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 drivers/vfio/vfio_virqfd drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci"
VFIO_OPTIONAL="drivers/vfio/vfio_virqfd"   # folded into vfio.ko in later kernels
NIC_MODULES="drivers/dca/dca drivers/i2c/algos/i2c-algo-bit drivers/net/ethernet/intel/igb/igb drivers/net/ethernet/intel/e1000/e1000"
WANT_STAMP="v1 $VFIO_MODULES | $NIC_MODULES"

kdir="$IGBPOLL_GUEST_KERNEL_DIR"
debdir="$IGBPOLL_QEMU_CACHE/debs"

kernel_cached() {
  [ -f "$kdir/.complete" ] && [ "$(cat "$kdir/.complete")" = "$WANT_STAMP" ] &&
    [ -f "$kdir/vmlinuz" ] && [ -f "$kdir/vfio.order" ] && [ -f "$kdir/nic.order" ]
}

# Unpack DEB and keep what the guest needs in $kdir.
extract_kernel() {
  local deb="$1" tmp ver moddir
  tmp="$IGBPOLL_QEMU_CACHE/unpack.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  note "dpkg -x ${deb##*/}"
  dpkg -x "$deb" "$tmp"
  set -- "$tmp"/lib/modules/*/
  [ -d "$1" ] || die "no lib/modules/VER in ${deb##*/}"
  [ $# -eq 1 ] || die "more than one kernel version in ${deb##*/}"
  moddir="${1%/}"; ver="${moddir##*/}"
  local vmlinuz="$tmp/boot/vmlinuz-$ver"
  [ -f "$vmlinuz" ] || die "no boot/vmlinuz-$ver in ${deb##*/}"

  local new="$kdir.new"
  rm -rf "$new"; mkdir -p "$new/modules"
  cp "$vmlinuz" "$new/vmlinuz"
  echo "$ver" > "$new/version"
  dpkg-deb -f "$deb" Package > "$new/package"

  # The package ships no modules.dep (depmod runs in its postinst) and the host
  # may lack kmod: read each module's "depends=" from its .modinfo strings.
  # Index: module name (with "-" as "_") -> file.
  local -A byname=()
  local f n
  while IFS= read -r f; do
    n="${f##*/}"; n="${n%%.ko*}"; n="${n//-/_}"
    byname[$n]="$f"
  done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
  [ ${#byname[@]} -gt 0 ] || die "no modules under $moddir/kernel"
  catmod() {
    case "$1" in
      *.ko) cat "$1" ;;
      *.ko.xz) xz -dc "$1" ;;
      *.ko.zst) zstd -qdc "$1" ;;
      *.ko.gz) gzip -dc "$1" ;;
      *) die "unknown module format: $1" ;;
    esac
  }

  # Resolve a module (path without suffix, relative to kernel/), dependencies
  # first; append to "order". Returns 1 if the module is not in the package.
  local -A seen=()
  local order=()
  resolve() {
    local rel="$1" file deps dep
    [ -n "${seen[$rel]:-}" ] && return 0
    file=$(ls "$moddir/kernel/$rel".ko* 2>/dev/null | head -1)
    [ -n "$file" ] || return 1
    seen[$rel]=1
    deps=$(catmod "$file" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1)
    for dep in ${deps//,/ }; do
      f="${byname[${dep//-/_}]:-}"
      [ -n "$f" ] || die "module $rel needs $dep, which is not in ${deb##*/}"
      f="${f#"$moddir/kernel/"}"
      resolve "${f%%.ko*}" || die "cannot resolve $dep"
    done
    order+=("$rel")
  }
  copy_list() {
    local list="$1" out="$2" rel name
    order=()
    for rel in $list; do
      if ! resolve "$rel"; then
        case " $VFIO_OPTIONAL " in
          *" $rel "*) note "optional module $rel not in this kernel (built in or merged): skipped"; continue ;;
        esac
        die "module $rel not found in $ver (neither built as module nor optional)"
      fi
    done
    : > "$out"
    for rel in "${order[@]}"; do
      f=$(ls "$moddir/kernel/$rel".ko* | head -1)
      name="${rel##*/}"
      # busybox insmod does not decompress: store plain .ko.
      catmod "$f" > "$new/modules/$name.ko"
      echo "$name" >> "$out"
    done
  }
  copy_list "$VFIO_MODULES" "$new/vfio.order"
  # NIC modules may share deps with the VFIO stack: keep "seen" so each
  # module is loaded once, but list only the new ones in nic.order.
  copy_list "$NIC_MODULES" "$new/nic.order"

  echo "$WANT_STAMP" > "$new/.complete"
  rm -rf "$kdir"; mv "$new" "$kdir"
  rm -rf "$tmp"; trap - EXIT
  did+=("unpacked $(cat "$kdir/package") ($ver): vmlinuz + $(ls "$kdir/modules" | wc -l) modules")
}

if [ -n "${IGBPOLL_QEMU_REFRESH:-}" ] || ! kernel_cached; then
  mkdir -p "$debdir"
  deb=""
  if [ -z "${IGBPOLL_QEMU_REFRESH:-}" ]; then
    # A previously downloaded package is enough to (re)build the kernel dir.
    deb=$(ls -t "$debdir"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | head -1 || true)
  fi
  if [ -z "$deb" ]; then
    apt_update
    pkg=$(apt-cache depends linux-image-amd64 | awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-6\.1\.0-.*-amd64$/ { print $2; exit }')
    [ -n "$pkg" ] || die "could not resolve linux-image-6.1.0-*-amd64 from 'apt-cache depends linux-image-amd64'"
    note "guest kernel package: $pkg"
    # Exactly one package name, never a glob (a glob fetches every version).
    (cd "$debdir" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed' || true)
    deb=$(ls -t "$debdir/${pkg}"_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $debdir"
    did+=("downloaded ${deb##*/} ($(du -h "$deb" | cut -f1))")
  fi
  extract_kernel "$deb"
fi

echo "provision: guest kernel $(cat "$kdir/package") in $kdir"
echo "provision: vfio modules: $(tr '\n' ' ' < "$kdir/vfio.order")"
echo "provision: nic modules:  $(tr '\n' ' ' < "$kdir/nic.order")"
if [ ${#did[@]} -eq 0 ]; then
  echo "provision: nothing to do (cached) in $(elapsed)s"
else
  for d in "${did[@]}"; do echo "provision: $d"; done
  echo "provision: done in $(elapsed)s"
fi
