# shellcheck shell=sh
# Included by accounts.sh and observe.sh (after the prologue). Reads authorized_keys files AS THEIR
# USERS, never as root: a user who swaps ~/.ssh or the file for a symlink (or a FIFO) at any moment
# can only ever make rac read what that user may read anyway, and never block it. The last path
# component is not followed (dd iflag=nofollow), nothing is waited for (nonblock), and at most
# 1 MiB + 1 byte is read, so a larger file shows as too large.
# $1: lines `uid uidnum gidnum home` (tab-separated); $2: a directory for the copies, one per uid.
# Writes the uids whose file could not be read as the user to "$W/unread".
# One process per account is the price of reading as its user; four lanes run side by side.
read_keys_as_users() {
  awk -v w="$1" '{ print > (w "." (NR % 4)) }' "$1"
  for lane in 0 1 2 3; do
    : > "$1.$lane.unread"
    if [ -s "$1.$lane" ]; then read_keys_lane "$1.$lane" "$2" & fi
  done
  wait
  cat "$1.0.unread" "$1.1.unread" "$1.2.unread" "$1.3.unread" > "$W/unread"
}
read_keys_lane() {
  while IFS=$T read -r u un gn home; do
    setpriv --reuid="$un" --regid="$gn" --clear-groups -- \
      dd if="$home/.ssh/authorized_keys" iflag=nofollow,nonblock,count_bytes bs=65536 count=1048577 status=none \
      > "$2/$u" 2>/dev/null < /dev/null 9>&- || printf '%s\n' "$u"
  done < "$1" > "$1.unread"
}
