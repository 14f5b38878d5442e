#!/usr/bin/env bash
# Build the busybox initramfs of the igbpoll QEMU test guest.
#
# usage: qemu/mkinitramfs.sh [-s GUEST_SCRIPT] OUT.cpio.gz [EXTRA...]
#
#   -s GUEST_SCRIPT  shorthand for GUEST_SCRIPT=/guest.sh: the guest's /init runs
#                    it after binding the NICs to vfio-pci; its exit status
#                    becomes the guest's "IGBPOLL-GUEST: done rc=N".
#   EXTRA            HOST_PATH[=GUEST_PATH]: copy a host file into the guest at
#                    GUEST_PATH (default: the same absolute path). An ELF
#                    executable or library also gets every shared library ldd
#                    lists plus the loader /lib64/ld-linux-x86-64.so.2, at the
#                    same paths, so a dynamically linked igbpoll or tcpdump runs.
#                    A directory is copied recursively (no library handling).
#
# The guest gets: /init (qemu/guest/init), static busybox, the VFIO and NIC
# modules and their load order from qemu/provision.sh's cache, an /etc/passwd
# and /etc/group naming root and tcpdump, and the EXTRA files.
#
# Environment: IGBPOLL_QEMU_CACHE (default $REPO/.cache/qemu), as for provision.sh.
# Run qemu/provision.sh first.
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

guest_script=""
while getopts ':s:h' opt; do
  case "$opt" in
    s) guest_script="$OPTARG" ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { usage >&2; exit 2; }
out="$1"; shift

kdir="$IGBPOLL_GUEST_KERNEL_DIR"
[ -f "$kdir/.complete" ] || die "no guest kernel in $kdir: run qemu/provision.sh first"
[ -x /bin/busybox ] || die "/bin/busybox missing: run qemu/provision.sh first (installs busybox-static)"
command -v cpio >/dev/null || die "cpio missing: run qemu/provision.sh first"

stage=$(mktemp -d "${TMPDIR:-/tmp}/igbpoll-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/igbpoll-modules}

# copy_at SRC DEST: copy SRC (dereferenced) to absolute guest path DEST.
copy_at() {
  local src="$1" dest="$2"
  case "$dest" in /*) ;; *) die "guest path must be absolute: $dest" ;; esac
  mkdir -p "$stage$(dirname "$dest")"
  cp -L "$src" "$stage$dest"
}

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

# add_binary PATH [GUEST_PATH]: copy an ELF file and, if it is dynamically
# linked, every library ldd lists and the loader, at their host paths.
add_binary() {
  local src="$1" dest="${2:-$1}" lddout lib
  [ -f "$src" ] || die "add_binary: $src is not a file"
  copy_at "$src" "$dest"
  if ! lddout=$(ldd "$src" 2>&1); then
    case "$lddout" in
      *"not a dynamic executable"*|*"statically linked"*) return 0 ;;
      *) die "ldd $src failed: $lddout" ;;
    esac
  fi
  case "$lddout" in *"statically linked"*) return 0 ;; esac
  if grep -q 'not found' <<<"$lddout"; then
    die "ldd $src: missing libraries:"$'\n'"$(grep 'not found' <<<"$lddout")"
  fi
  for lib in $(grep -o '/[^ ]*' <<<"$lddout") /lib64/ld-linux-x86-64.so.2; do
    [ -e "$stage$lib" ] || copy_at "$lib" "$lib"
  done
}

add_extra() {
  local spec="$1" src dest
  case "$spec" in
    *=*) src="${spec%%=*}"; dest="${spec#*=}" ;;
    *) src="$spec"; dest="$(realpath -s "$spec")" ;;
  esac
  [ -e "$src" ] || die "extra file $src does not exist"
  if [ -d "$src" ]; then
    case "$dest" in /*) ;; *) die "guest path must be absolute: $dest" ;; esac
    mkdir -p "$stage$dest"
    cp -aL "$src/." "$stage$dest/"
  elif is_elf "$src"; then
    add_binary "$src" "$dest"
  else
    copy_at "$src" "$dest"
  fi
}

cp /bin/busybox "$stage/bin/busybox"
cp "$(dirname "$0")/guest/init" "$stage/init"
chmod 755 "$stage/init"
cp "$kdir"/modules/*.ko "$kdir/vfio.order" "$kdir/nic.order" "$stage/lib/igbpoll-modules/"

cat > "$stage/bin/igbpoll-load-nic-modules" <<'EOF'
#!/bin/sh
# Load the guest kernel's own igb and e1000 drivers (and their deps).
while read -r m; do
  grep -q "^$(echo "$m" | tr - _) " /proc/modules || insmod "/lib/igbpoll-modules/$m.ko" || exit 1
  echo "IGBPOLL-GUEST: module $m loaded"
done < /lib/igbpoll-modules/nic.order
EOF
chmod 755 "$stage/bin/igbpoll-load-nic-modules"

cat > "$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
tcpdump:x:104:108::/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$stage/etc/group" <<'EOF'
root:x:0:
tcpdump:x:108:
nogroup:x:65534:
EOF
echo igbpoll-guest > "$stage/etc/hostname"

if [ -n "$guest_script" ]; then
  [ -f "$guest_script" ] || die "guest script $guest_script does not exist"
  copy_at "$guest_script" /guest.sh
fi
for spec in "$@"; do add_extra "$spec"; done
[ ! -e "$stage/guest.sh" ] || chmod 755 "$stage/guest.sh"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $out ($(du -k "$out" | cut -f1) KiB, $(cd "$stage" && find . -type f | wc -l) files, kernel $(cat "$kdir/version"))"
