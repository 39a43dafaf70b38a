# shellcheck shell=sh
# rac bastion observe, v2: sh -c "$OBSERVE_SCRIPT" rac-bastion  (read-only)
# Members of rac-bastion (primary or supplementary group), each with its lock state and the lines
# of its authorized_keys that are keys; everything else is a `problem` record, never content.
# Each authorized_keys is read AS ITS USER (setpriv) with the last component not followed
# (dd iflag=nofollow) and at most 1 MiB + 1 byte: a user who swaps ~/.ssh or the file for a
# symlink at any moment can only ever make rac read what that user may read anyway, and never a
# FIFO that would hang it (nonblock).
# shellcheck source=prologue.sh
. ./prologue.sh
command -v setpriv >/dev/null 2>&1 || die 'setpriv (util-linux) is required'
AWK_MEMBERS='@members.awk@'
AWK_READS='@ls.awk@
@observe-reads.awk@'
AWK_OBSERVE='@ls.awk@
@observe.awk@'
getent group "$G" > "$W/group" || exit 0
getent passwd > "$W/all"
awk -v grpf="$W/group" "$AWK_MEMBERS" "$W/group" "$W/all" > "$W/passwd"
[ -s "$W/passwd" ] || exit 0
cut -d: -f1 "$W/passwd" | xargs getent shadow > "$W/shadow" 2>/dev/null
awk -F: '{ print $6 "\n" $6 "/.ssh\n" $6 "/.ssh/authorized_keys" }' "$W/passwd" | grep '^/[A-Za-z0-9._/-]*$' > "$W/paths"
: > "$W/ls"
if [ -s "$W/paths" ]; then xargs ls -ldn -- < "$W/paths" > "$W/ls" 2>/dev/null; fi
awk -v lsf="$W/ls" -v umin="$umin" "$AWK_READS" "$W/ls" "$W/passwd" > "$W/reads"
mkdir "$W/keys" || die 'cannot create a work directory'
# One process per account is the price of reading as its user; four lanes run side by side.
read_as_users() {
  while IFS=$T read -r u un gn home; do
    setpriv --reuid="$un" --regid="$gn" --clear-groups -- \
      dd if="$home/.ssh/authorized_keys" iflag=nofollow,nonblock,count_bytes bs=65536 count=1048577 status=none \
      > "$W/keys/$u" 2>/dev/null < /dev/null || printf '%s\n' "$u"
  done < "$1" > "$1.unread"
}
awk -v w="$W/reads" '{ print > (w "." (NR % 4)) }' "$W/reads"
for lane in 0 1 2 3; do
  : > "$W/reads.$lane.unread"
  if [ -s "$W/reads.$lane" ]; then read_as_users "$W/reads.$lane" & fi
done
wait
cat "$W/reads.0.unread" "$W/reads.1.unread" "$W/reads.2.unread" "$W/reads.3.unread" > "$W/unread"
awk -v spf="$W/shadow" -v lsf="$W/ls" -v unreadf="$W/unread" -v dir="$W/keys" -v today="$today" -v umin="$umin" \
  "$AWK_OBSERVE" "$W/shadow" "$W/ls" "$W/unread" "$W/passwd"
