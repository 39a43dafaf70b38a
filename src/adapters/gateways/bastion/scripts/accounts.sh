# shellcheck shell=sh
# rac bastion accounts, v1: sh -c "$BASTION_SCRIPT" rac-bastion < manifest
# The account operation. Same text every run; the manifest is its only input (stdin), read with
# cat into a file and then only with awk and `read -r`: person data is never parsed as shell.
# shellcheck source=prologue.sh
. ./prologue.sh
# shellcheck source=read-keys.sh
. ./read-keys.sh
command -v setpriv >/dev/null 2>&1 || die 'setpriv (util-linux) is required'
# One rac run at a time per host: shadow-utils lock each file, but read-decide-write must not interleave.
exec 9>>/etc/.rac-bastion.lock || die 'cannot open /etc/.rac-bastion.lock'
if command -v flock >/dev/null 2>&1; then flock -w 300 9 || die 'another rac run holds /etc/.rac-bastion.lock'; fi

USER_WRITE_KEYS='@user-write-keys.sh@'
USER_REMOVE_KEYS='@user-remove-keys.sh@'
AWK_MANIFEST='@manifest.awk@'
AWK_PATHS='@ls.awk@
@paths.awk@'
AWK_CREATE='@ls.awk@
@create.awk@'
AWK_DECIDE='@ls.awk@
@decide.awk@'
AWK_READS='@ls.awk@
@observe-reads.awk@'

cat > "$W/manifest" || die 'cannot read the manifest from stdin'
mkdir "$W/keys" || die 'cannot create a work directory'
awk -v dir="$W/keys" -v errf="$W/refusal" "$AWK_MANIFEST" "$W/manifest" > "$W/accounts" \
  || die "manifest refused, nothing was changed: $(cat "$W/refusal" 2>/dev/null)"
[ -s "$W/accounts" ] || exit 0
cut -f1 "$W/accounts" > "$W/uids"

# Only the listed accounts are looked up: getent with names works with any NSS source, without enumeration.
gather() {
  xargs getent passwd < "$W/uids" > "$W/passwd" 2>/dev/null
  awk -v pwf="$W/passwd" "$AWK_PATHS" "$W/passwd" "$W/accounts" > "$W/paths"
  : > "$W/ls"
  if [ -s "$W/paths" ]; then xargs ls -ldn -- < "$W/paths" > "$W/ls" 2>/dev/null; fi
}
gather
if ! getent group "$G" > "$W/group"; then
  if cut -f2 "$W/accounts" | grep -qx present; then
    err=$(groupadd "$G" 2>&1) || die "cannot create group $G: $err"
    getent group "$G" > "$W/group" || die "group $G is missing after groupadd"
  fi
fi

# Create every missing account with ONE newusers call. Under PAM (Debian) newusers also tries to set each
# password, fails on the empty one and exits 1 with the accounts written and locked ('!'): its status says
# nothing, so what getent sees afterwards is the truth. Any it did not create get one useradd each; all new
# accounts then get '*' (no password at all; sshd with UsePAM no treats '!' as locked) in one chpasswd -e.
awk -v pwf="$W/passwd" -v lsf="$W/ls" "$AWK_CREATE" "$W/passwd" "$W/ls" "$W/accounts" > "$W/newusers"
: > "$W/created"
if [ -s "$W/newusers" ]; then
  newusers < "$W/newusers" > "$W/newusers.log" 2>&1
  cut -d: -f1 "$W/newusers" > "$W/new"
  xargs getent passwd < "$W/new" 2>/dev/null | cut -d: -f1 > "$W/created"
  grep -vxF -f "$W/created" "$W/new" > "$W/missed"
  [ -s "$W/created" ] || cp "$W/new" "$W/missed"
  while read -r u; do
    useradd -m -d "/home/$u" -s /bin/bash -g "$G" -c rac "$u" >> "$W/newusers.log" 2>&1 < /dev/null
  done < "$W/missed"
  xargs getent passwd < "$W/new" 2>/dev/null | cut -d: -f1 > "$W/created"
  if [ -s "$W/created" ]; then sed 's/$/:*/' "$W/created" | chpasswd -e >> "$W/newusers.log" 2>&1; fi
  gather
fi
xargs getent shadow < "$W/uids" > "$W/shadow" 2>/dev/null
# What each present member has now, read as that user (never as root) to compare with what it should have.
awk -v lsf="$W/ls" -v grpf="$W/group" -v onlyf="$W/accounts" -v umin="$umin" "$AWK_READS" \
  "$W/ls" "$W/group" "$W/accounts" "$W/passwd" > "$W/reads"
mkdir "$W/have" || die 'cannot create a work directory'
read_keys_as_users "$W/reads" "$W/have"
awk -v grpf="$W/group" -v pwf="$W/passwd" -v spf="$W/shadow" -v lsf="$W/ls" -v newf="$W/created" \
  -v unreadf="$W/unread" -v dir="$W/keys" -v havedir="$W/have" -v umin="$umin" -v today="$today" \
  "$AWK_DECIDE" "$W/group" "$W/passwd" "$W/shadow" "$W/ls" "$W/created" "$W/unread" "$W/accounts" > "$W/plan" \
  || die 'internal error while deciding; no account was changed beyond being created'

report() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
# Its arguments as one line of words separated by single spaces (change lists start with a space).
words() { printf '%s\n' "$*" | tr -s ' ' | sed 's/^ //; s/ $//'; }
oneline() { printf '%s' "$1" | tr '\t\n' '  ' | cut -c1-300; }
has() { case ",$flags," in *",$1,"*) return 0 ;; esac; return 1; }
write_keys() {
  if [ -L "$home" ] || [ ! -d "$home" ]; then why="home $home is not a directory"; return 1; fi
  a=0; b=0; if has fixhome; then a=1; fi; if has fixssh; then b=1; fi
  setpriv --reuid="$un" --regid="$gn" --clear-groups -- sh -c "$USER_WRITE_KEYS" rac "$home" "$a" "$b" < "$W/keys/$u" 3<&- 9>&-
  case $? in
    0) return 0 ;;
    10) why="cannot enter $home as $u" ;;
    11) why="refused: ~/.ssh is a symlink or not a directory" ;;
    12) why="cannot create ~/.ssh as $u" ;;
    13) why="cannot fix the permissions of $home or ~/.ssh as $u" ;;
    14) why="refused: ~/.ssh/authorized_keys is a symlink" ;;
    *) why="cannot write ~/.ssh/authorized_keys as $u" ;;
  esac
  return 1
}
remove_keys() {
  if [ -L "$home" ] || [ ! -d "$home" ]; then why="home $home is not a directory"; return 1; fi
  setpriv --reuid="$un" --regid="$gn" --clear-groups -- sh -c "$USER_REMOVE_KEYS" rac "$home" < /dev/null 3<&- 9>&-
  case $? in
    0) return 0 ;;
    11) why="refused: ~/.ssh is a symlink" ;;
    14) why="refused: ~/.ssh/authorized_keys is a symlink" ;;
    *) why="cannot remove ~/.ssh/authorized_keys" ;;
  esac
  return 1
}

ERR=0
while IFS=$T read -r u state class flags un gn home nk detail <&3; do
  why=''
  changes=''
  case $class in
    conflict) report "$u" conflict "$detail" ;;
    absent) report "$u" unchanged "$detail" ;;
    error)
      if [ "$detail" = create-failed ]; then
        detail="could not create the account: $(oneline "$(grep -F "$u" "$W/newusers.log" 2>/dev/null | tail -n 2)")"
      fi
      report "$u" error "$detail"; ERR=1 ;;
    manage)
      if [ "$state" = present ]; then
        if has mkhome; then
          if mkdir -m 700 "$home" && chown "$un:$gn" "$home"; then changes="$changes home created;"; else report "$u" error "cannot create $home"; ERR=1; continue; fi
        fi
        if has unlock; then
          if err=$(usermod -p '*' -e '' "$u" 2>&1 < /dev/null); then changes="$changes unlocked;"; else report "$u" error "cannot unlock: $(oneline "$err")"; ERR=1; continue; fi
        fi
        if has keys; then
          if write_keys; then changes="$changes keys written ($nk);"; else report "$u" error "$why"; ERR=1; continue; fi
        fi
        if has new; then report "$u" created "uid $un, $nk keys"
        elif [ -z "$changes" ]; then report "$u" unchanged "$nk keys"
        else report "$u" updated "$(words "$changes")"; fi
      else
        failed=''
        # Lock first (no new login can succeed), then take the keys away, then end what is still running.
        if has lock; then
          if err=$(usermod -L -e 1970-01-02 "$u" 2>&1 < /dev/null); then changes="$changes locked;"; else failed="$failed cannot lock: $(oneline "$err");"; fi
        fi
        if has rmkeys; then
          if remove_keys; then changes="$changes keys removed;"; else failed="$failed $why;"; fi
        fi
        if has rmkeys-refused; then failed="$failed keys not removed: $detail;"; fi
        killed=''
        pkill -KILL -U "$un" < /dev/null && killed=1
        pkill -KILL -u "$un" < /dev/null && killed=1
        if [ -n "$killed" ]; then changes="$changes processes killed;"; fi
        if [ -n "$failed" ]; then report "$u" error "$(words "$changes" "$failed")"; ERR=1
        elif [ -z "$changes" ]; then report "$u" unchanged "already locked"
        else report "$u" locked "$(words "$changes")"; fi
      fi
      ;;
    *) report "$u" error "internal: unknown plan '$class'"; ERR=1 ;;
  esac
done 3< "$W/plan"
exit $ERR
