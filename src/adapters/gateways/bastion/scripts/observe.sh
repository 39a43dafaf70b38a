# shellcheck shell=sh
# rac bastion observe, v2: sh -c "$OBSERVE_SCRIPT" rac-bastion  (read-only)
# Members of rac-bastion (primary or supplementary group), each with its lock state and the lines
# of its authorized_keys that are keys; everything else is a `problem` record, never content.
# Each authorized_keys is read as its user (read-keys.sh), never as root.
# shellcheck source=prologue.sh
. ./prologue.sh
# shellcheck source=read-keys.sh
. ./read-keys.sh
command -v setpriv >/dev/null 2>&1 || die 'setpriv (util-linux) is required'
AWK_MEMBERS='@members.awk@'
AWK_READS='@ls.awk@
@observe-reads.awk@'
AWK_OBSERVE='@ls.awk@
@observe.awk@'
getent group "$G" > "$W/group" || exit 0
getent passwd > "$W/all"
awk -v grpf="$W/group" "$AWK_MEMBERS" "$W/group" "$W/all" > "$W/members"
# stdin may name the only accounts to look at (one uid a line): a revocation reads just its people.
cat > "$W/only" || die 'cannot read the account list from stdin'
if [ -s "$W/only" ]; then
  awk -F: 'FILENAME == onlyf { want[$0] = 1; next } ($1 in want)' onlyf="$W/only" "$W/only" "$W/members" > "$W/passwd"
else
  cp "$W/members" "$W/passwd"
fi
[ -s "$W/passwd" ] || exit 0
cut -d: -f1 "$W/passwd" | xargs getent shadow > "$W/shadow" 2>/dev/null
awk -F: '{ print $6 "\n" $6 "/.ssh\n" $6 "/.ssh/authorized_keys" }' "$W/passwd" | grep '^/[A-Za-z0-9._/-]*$' > "$W/paths"
: > "$W/ls"
if [ -s "$W/paths" ]; then xargs ls -ldn -- < "$W/paths" > "$W/ls" 2>/dev/null; fi
awk -v lsf="$W/ls" -v umin="$umin" "$AWK_READS" "$W/ls" "$W/passwd" > "$W/reads"
mkdir "$W/keys" || die 'cannot create a work directory'
read_keys_as_users "$W/reads" "$W/keys"
awk -v spf="$W/shadow" -v lsf="$W/ls" -v unreadf="$W/unread" -v dir="$W/keys" -v today="$today" -v umin="$umin" \
  "$AWK_OBSERVE" "$W/shadow" "$W/ls" "$W/unread" "$W/passwd"
