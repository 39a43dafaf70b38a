# shellcheck shell=sh
# Runs as the user of the account (setpriv), so a symlink swapped in after the checks can only ever
# lead to files of that user. Builtins where possible: this runs once per changed account.
# $1 home, $2 = 1 to remove group/other write from it, $3 = 1 to reset ~/.ssh to 0700.
umask 077
cd "$1" || exit 10
[ -L .ssh ] && exit 11
if [ ! -e .ssh ]; then mkdir .ssh || exit 12; elif [ "$3" = 1 ]; then chmod 700 .ssh || exit 13; fi
[ -d .ssh ] || exit 11
if [ "$2" = 1 ]; then chmod go-w . || exit 13; fi
[ -L .ssh/authorized_keys ] && exit 14
t=.ssh/.authorized_keys.rac-new
if [ -e "$t" ] || [ -L "$t" ]; then rm -f "$t" || exit 15; fi
while IFS= read -r line; do printf "%s\n" "$line"; done > "$t" || exit 15
mv -f "$t" .ssh/authorized_keys || exit 15
exit 0
