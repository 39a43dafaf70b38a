#!/bin/sh
# OpenVPN auth-user-pass-verify script: LDAP password + vpn tier group membership, deferred.
#
# Part of the gateway's configuration (not of rac). In the server config:
#
#   script-security 2
#   tmp-dir /run/openvpn-tmp                  # tmpfs, mode 0700: holds the credentials briefly
#   auth-user-pass-verify "/bin/sh /etc/openvpn/auth-ldap.sh /etc/openvpn/auth-ldap.conf" via-file
#
# OpenVPN appends the via-file's path (line 1 username, line 2 password).
#
# Why deferred: OpenVPN runs this script with a blocking waitpid(), so while it runs the whole
# server stalls -- every login would cost every other person one LDAP round trip, and 5000 people
# at 9:00 would queue behind one another. OpenVPN 2.6 sets `auth_control_file` in the environment
# and accepts exit 2 = "decision pending": this script then only validates the input, copies the
# password (OpenVPN deletes the via-file as soon as the script returns, exit 2 included), starts a
# background check and exits 2 within milliseconds. The check writes the verdict into
# auth_control_file: 1 = allowed, 0 = refused (OpenVPN polls it). Without auth_control_file
# (OpenVPN 2.5, or a person running the script by hand) the check runs in the foreground and the
# exit code is the verdict: 0 allowed, 1 refused.
#
# A refusal because LDAP is slow or down is temporary: the script writes
# `TEMP[backoff N,advance no]: ...` into `auth_failed_reason_file` (OpenVPN 2.6), and 2.6 clients
# retry after N seconds instead of giving up. A wrong password or a missing group membership is a
# plain refusal.
#
# The configuration file is sourced (root-owned, not writable by others) and sets:
#   LDAP_URI         e.g. ldapi://%2Frun%2Fslapd%2Fldapi or ldaps://ldap.corp.example
#   USERS_BASE       e.g. ou=people,dc=corp,dc=example   (people are uid=<username>,USERS_BASE)
#   GROUP_DN         e.g. cn=remote-vpn,ou=groups,dc=corp,dc=example   (groupOfNames, member: <dn>)
#   LDAP_TIMEOUT     seconds per LDAP check, default 5
#   LDAP_BIN_DIR     default /usr/bin (where ldapsearch is)
#   AUTH_CONCURRENCY checks running at once, default 8: a storm queues here instead of opening
#                    thousands of LDAP connections at once
#   AUTH_QUEUE_TIMEOUT seconds a check may wait for a free slot, default 30 (keep it and
#                    LDAP_TIMEOUT well under hand-window, which bounds a pending decision)
#   TEMP_BACKOFF     seconds a refused-for-now client waits before it retries; default 20-59,
#                    varying per login (clients add no jitter of their own and would retry in
#                    lockstep)
#
# Order of checks:
#   1. the username must match ^[a-z_][a-z0-9._-]{0,31}$ -- checked before the name is used for
#      anything at all (no LDAP tool ever sees another name), so it needs no DN or filter escaping;
#   2. the password must not be empty (an empty simple-bind password is an anonymous bind, which
#      "succeeds");
#   3. one ldapsearch binds as uid=<username>,USERS_BASE with the password (read from a 0600 file,
#      never argv or the environment: `-y`) and, as that person, reads GROUP_DN with the filter
#      (member=<dn>). Bind failure (rc 49) = wrong password or no such person; no entry back = not
#      in the group; anything else (timeout, server down) = a temporary refusal.
#
# Never logs the password, and never logs a refused username (it may be hostile).
set -u
LC_ALL=C
export LC_ALL
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077

me=auth-ldap

log() {
  printf '%s: %s\n' "$me" "$*" >&2
}

refuse() {
  log "refused: $*"
  exit 1
}

# --- the check (a forked subshell: no exec of another shell per login) -------------------------
# check USER PWFILE CONTROL_FILE REASON_FILE ('' when none). The password is in PWFILE only.
check() {
  user=$1 pwfile=$2 control=$3 reason=$4
  trap 'rm -f "$pwfile"' EXIT
  trap 'exit 1' HUP INT TERM
  # The verdict: the reason first (OpenVPN reads it when it sees the 0), then one byte.
  verdict() { # 1|0 [reason]
    if [ "$1" = 0 ] && [ -n "$reason" ] && [ -n "${2:-}" ]; then printf '%s' "$2" >"$reason"; fi
    printf '%s' "$1" >"$control"
    exit 0
  }
  # Jitter from the pid: clients told to come back add none of their own.
  backoff=${TEMP_BACKOFF:-$((20 + $$ % 40))}
  temporary="TEMP[backoff $backoff,advance no]"
  # A slot: one of AUTH_CONCURRENCY lock files, picked by pid, held with flock(1) on fd 9 until
  # this process ends (the kernel releases it however it ends). Waiting blocks in flock: no
  # polling, one exec per login.
  slots=${pwfile%/*}/auth-ldap.slots
  [ -d "$slots" ] || mkdir -p "$slots" 2>/dev/null
  slot=$(($$ % AUTH_CONCURRENCY + 1))
  exec 9>>"$slots/$slot"
  if ! flock -w "$AUTH_QUEUE_TIMEOUT" 9; then
    log "refused for now: no check slot for $user within ${AUTH_QUEUE_TIMEOUT}s"
    verdict 0 "$temporary: authentication busy"
  fi
  dn="uid=$user,$USERS_BASE"
  # Bounded by libldap itself: nettimeout for the connect, LDAPTIMEOUT (the environment form of
  # ldap.conf TIMEOUT, not a secret) for every answer, -l on the server side. No timeout(1)
  # wrapper: it costs more per login than ldapsearch does.
  out=$(LDAPTIMEOUT=$LDAP_TIMEOUT "$LDAP_BIN_DIR/ldapsearch" -x -LLL -H "$LDAP_URI" \
    -o "nettimeout=$LDAP_TIMEOUT" -l "$LDAP_TIMEOUT" \
    -D "$dn" -y "$pwfile" -b "$GROUP_DN" -s base "(member=$dn)" 1.1 2>&1)
  rc=$?
  case $rc in
    0) ;;
    49)
      log "refused: invalid credentials for $user"
      verdict 0 "invalid username or password"
      ;;
    *)
      log "refused for now: LDAP error $rc for $user: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"
      verdict 0 "$temporary: directory unavailable"
      ;;
  esac
  case $out in
    'dn: '* | 'dn:: '*) ;;
    *)
      log "refused: $user is not a member of $GROUP_DN"
      verdict 0 "not allowed to use the VPN"
      ;;
  esac
  log "accepted $user"
  verdict 1
}

# --- the foreground part (OpenVPN waits for it: keep it to milliseconds) -----------------------
[ "$#" -eq 2 ] || refuse "usage: auth-ldap.sh CONF VIA_FILE (got $# arguments)"
conf=$1
via=$2

# --- 1. the username, before anything else touches it -----------------------------------------
user=
IFS= read -r user <"$via" || [ -n "$user" ] || refuse "cannot read the credentials file"
case $user in
  '' | [!a-z_]* | *[!a-z0-9._-]*) refuse "invalid username (${#user} bytes)" ;;
esac
[ "${#user}" -le 32 ] || refuse "invalid username (${#user} bytes)"

# --- configuration ------------------------------------------------------------------------------
[ -r "$conf" ] || refuse "cannot read $conf"
LDAP_URI=
USERS_BASE=
GROUP_DN=
LDAP_TIMEOUT=5
LDAP_BIN_DIR=/usr/bin
AUTH_CONCURRENCY=8
AUTH_QUEUE_TIMEOUT=30
TEMP_BACKOFF=
# shellcheck disable=SC1090
. "$conf"
[ -n "$LDAP_URI" ] && [ -n "$USERS_BASE" ] && [ -n "$GROUP_DN" ] || refuse "LDAP_URI, USERS_BASE and GROUP_DN must be set in $conf"
case $LDAP_TIMEOUT in '' | *[!0-9]*) refuse "LDAP_TIMEOUT must be a number of seconds" ;; esac
case $AUTH_CONCURRENCY in '' | 0 | *[!0-9]*) refuse "AUTH_CONCURRENCY must be a positive number" ;; esac
case $AUTH_QUEUE_TIMEOUT in '' | *[!0-9]*) refuse "AUTH_QUEUE_TIMEOUT must be a number of seconds" ;; esac
case $TEMP_BACKOFF in *[!0-9]*) refuse "TEMP_BACKOFF must be a number of seconds" ;; esac

# --- 2. the password, into a private file (the via-file is gone once this script returns) -------
# read and printf are shell builtins: the password is in no argv and no environment.
dir=${via%/*}
[ "$dir" != "$via" ] || dir=.
pass=
{ IFS= read -r _ && IFS= read -r pass; } <"$via" || [ -n "$pass" ] || refuse "cannot read the password"
[ -n "$pass" ] || refuse "empty password for $user"
# tmp-dir is private to OpenVPN (0700), so a pid-named file cannot be planted; noclobber still
# refuses to reuse one left behind.
pwfile=$dir/auth-ldap.$$.pw
trap 'rm -f "$pwfile"' EXIT
trap 'exit 1' HUP INT TERM
(set -C && printf '%s' "$pass" >"$pwfile") 2>/dev/null || refuse "cannot create $pwfile"
pass=

# --- 3. the check: deferred when OpenVPN offers it, else in the foreground ----------------------
control=${auth_control_file:-}
if [ -z "$control" ]; then
  control=$dir/auth-ldap.$$.verdict
  trap 'rm -f "$pwfile" "$control"' EXIT
  (check "$user" "$pwfile" "$control" '') </dev/null >/dev/null
  [ "$(cat "$control" 2>/dev/null)" = 1 ] || exit 1
  exit 0
fi
# The background check owns the password file from here on (it deletes it when it ends).
trap - EXIT
(check "$user" "$pwfile" "$control" "${auth_failed_reason_file:-}") </dev/null >/dev/null &
exit 2
