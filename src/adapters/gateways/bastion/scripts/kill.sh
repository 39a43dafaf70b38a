# shellcheck shell=sh
# Ends every process of the named bastion accounts (their sessions): names on stdin, one per line.
# Only members of the rac-bastion group are touched: nobody else's processes, root's least of all.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
G=rac-bastion
targets=
refused=
while read -r name; do
  case "$name" in
    '') continue ;;
    -* | *[!a-z0-9._-]*) printf 'rac-bastion-kill: not an account name: %s\n' "$name" >&2; exit 3 ;;
  esac
  groups=$(id -nG -- "$name" 2>/dev/null) || continue
  case " $groups " in
    *" $G "*) targets="${targets:+$targets,}$name" ;;
    *) printf 'rac-bastion-kill: %s is not in %s: left alone\n' "$name" "$G" >&2; refused=1 ;;
  esac
done
status=0
if [ -n "$targets" ]; then pkill -KILL -u "$targets" || status=$?; fi
# pkill's 1 is "no process matched": nobody was connected, which is no failure.
[ "$status" -le 1 ] || exit "$status"
[ -z "$refused" ] || exit 4
