#!/bin/sh
# OpenVPN auth-user-pass-verify script: LDAP password + vpn tier group membership.
#
# Part of the gateway's configuration (not of rac). In the server config:
#
#   script-security 2
#   tmp-dir /run/openvpn-tmp                  # tmpfs, mode 0700: holds the credentials briefly
#   auth-user-pass-verify "/bin/sh /etc/openvpn/auth-ldap.sh /etc/openvpn/auth-ldap.conf" via-file
#
# OpenVPN appends the via-file's path (line 1 username, line 2 password). Exit 0 = allowed.
#
# The configuration file is sourced (root-owned, not writable by others) and sets:
#   LDAP_URI      e.g. ldapi://%2Frun%2Fslapd%2Fldapi or ldaps://ldap.corp.example
#   USERS_BASE    e.g. ou=people,dc=corp,dc=example   (people are uid=<username>,USERS_BASE)
#   GROUP_DN      e.g. cn=remote-vpn,ou=groups,dc=corp,dc=example   (groupOfNames, member: <dn>)
#   LDAP_TIMEOUT  seconds, default 5 (OpenVPN waits for this script: keep it short)
#   LDAP_BIN_DIR  default /usr/bin (where ldapsearch is)
#
# Order of checks:
#   1. the username must match ^[a-z_][a-z0-9._-]{0,31}$ -- checked before the name is used for
#      anything at all (no LDAP tool ever sees another name), so it needs no DN or filter escaping;
#   2. the password must not be empty (an empty simple-bind password is an anonymous bind, which
#      "succeeds");
#   3. one ldapsearch binds as uid=<username>,USERS_BASE with the password (read from a 0600 file,
#      never argv: `-y`) and, as that person, reads GROUP_DN with the filter (member=<dn>).
#      Bind failure (rc 49) = wrong password or no such person; no entry back = not in the group.
#      (One process does what `ldapwhoami` + `ldapsearch` would do in two: OpenVPN is blocked
#      while this script runs, so every login costs the whole server this script's run time.)
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
# shellcheck disable=SC1090
. "$conf"
[ -n "$LDAP_URI" ] && [ -n "$USERS_BASE" ] && [ -n "$GROUP_DN" ] || refuse "LDAP_URI, USERS_BASE and GROUP_DN must be set in $conf"
case $LDAP_TIMEOUT in '' | *[!0-9]*) refuse "LDAP_TIMEOUT must be a number of seconds" ;; esac

# --- 2. the password, into a private file -------------------------------------------------------
dir=${via%/*}
[ "$dir" != "$via" ] || dir=.
pwfile=$(mktemp "$dir/auth-ldap.XXXXXXXX") || refuse "cannot create a temporary file in $dir"
trap 'rm -f "$pwfile"' EXIT
trap 'exit 1' HUP INT TERM
sed -n '2{p;q;}' "$via" | tr -d '\n' >"$pwfile" || refuse "cannot copy the password"
[ -s "$pwfile" ] || refuse "empty password for $user"

# --- 3. bind as the person, then read the group as the person -----------------------------------
dn="uid=$user,$USERS_BASE"
out=$(timeout "$((LDAP_TIMEOUT + 1))" "$LDAP_BIN_DIR/ldapsearch" -x -LLL -H "$LDAP_URI" \
  -o "nettimeout=$LDAP_TIMEOUT" -l "$LDAP_TIMEOUT" \
  -D "$dn" -y "$pwfile" -b "$GROUP_DN" -s base "(member=$dn)" 1.1 2>&1)
rc=$?
case $rc in
  0) ;;
  49) refuse "invalid credentials for $user" ;;
  124) refuse "LDAP timed out for $user" ;;
  *) refuse "LDAP error $rc for $user: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')" ;;
esac
case $out in
  'dn: '* | 'dn:: '*) ;;
  *) refuse "$user is not a member of $GROUP_DN" ;;
esac
log "accepted $user"
exit 0
