# shellcheck shell=sh
# Its variables are used by the scripts that include it.
# shellcheck disable=SC2034
# Shared prologue of the bastion scripts, included at load time (scripts.ts): a safe environment,
# the root check, a private work directory removed on any exit.
set -u
set -f
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
G=rac-bastion
T=$(printf '\t')
die() { printf 'rac-bastion: %s\n' "$*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die 'must run as root'
W=$(mktemp -d /tmp/rac-bastion.XXXXXX) || die 'cannot create a work directory'
trap 'rm -rf "$W"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
now=$(date +%s) || die 'no clock'
today=$((now / 86400))
umin=$(awk '$1 == "UID_MIN" { print $2 }' /etc/login.defs 2>/dev/null)
case $umin in ''|*[!0-9]*) umin=1000 ;; esac
