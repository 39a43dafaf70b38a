#!/bin/sh
# Install the Debian packages named as arguments that are not installed yet.
#
#   sh infra/local/install-packages.sh slapd ldap-utils
#
# Prints one line naming what it installed, nothing when everything is present already.
# Runs `apt-get update` once, and only when something is missing. Exits non-zero with a
# message on stderr when anything fails (apt's own output is shown then, and only then).
set -eu

me=install-packages

fail() {
  echo "$me: $*" >&2
  exit 1
}

[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }

command -v dpkg-query >/dev/null 2>&1 || fail "dpkg-query not found: this script needs Debian or Ubuntu"

missing=
for pkg in "$@"; do
  case "$pkg" in
    -* | '' | *[!a-z0-9+.-]*) fail "not a Debian package name: '$pkg'" ;;
  esac
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=
  case "$status" in
    *' ok installed') ;;
    *) case " $missing " in *" $pkg "*) ;; *) missing="${missing:+$missing }$pkg" ;; esac ;;
  esac
done

[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=
elif command -v sudo >/dev/null 2>&1; then
  as_root=sudo
else
  fail "missing packages: $missing; run as root (or install sudo) to install them"
fi

log=$(mktemp "${TMPDIR:-/tmp}/$me.XXXXXX") || fail "cannot create a temporary log file"
trap 'rm -f "$log"' EXIT

if ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get update >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get update failed (needed to install: $missing)"
fi

# $missing is split on purpose: the names were checked above.
# shellcheck disable=SC2086
if ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  -o DPkg::Lock::Timeout=600 $missing >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get install failed for: $missing"
fi

for pkg in $missing; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=
  case "$status" in
    *' ok installed') ;;
    *) fail "apt-get reported success but $pkg is not installed (status: '${status:-unknown}')" ;;
  esac
done

echo "$me: installed $missing"
