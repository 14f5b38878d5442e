# Sourced by scripts/run.sh and scripts/test-all.sh: installs the Debian packages
# named in "$@" that are missing (as root; otherwise says what to run).
# IGBPOLL_SKIP_INSTALL=1 never calls apt-get.
ensure_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -n "${IGBPOLL_SKIP_INSTALL:-}" ]; then
    echo "missing ${missing[*]} (IGBPOLL_SKIP_INSTALL is set: not installing)" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${missing[*]}: run this as root once so it can install them," >&2
    echo "or install them yourself: sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "installing ${missing[*]}" >&2
  # Apt's lists are deleted after every install on these machines.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
