# shellcheck shell=sh
# Runs as the user of the account (setpriv). $1 home.
cd "$1" || exit 10
[ -L .ssh ] && exit 11
[ -L .ssh/authorized_keys ] && exit 14
rm -f .ssh/authorized_keys || exit 15
exit 0
