import { AppError } from '../errors.ts';
import { parseSshPublicKey } from '../roster/ssh-public-key.ts';
import { UID_PATTERN } from '../uid.ts';

/**
 * Bastion accounts, converged by ONE remote exec per host:
 *
 *   exec(BASTION_ARGV, { stdin: renderAccountManifest(accounts) })   i.e.  sh -c "$BASTION_SCRIPT" rac-bastion < manifest
 *
 * The script travels as argv and is the same text on every run; person data only ever arrives on stdin,
 * which the script reads with `cat` into a file and then only with awk and `read -r` — it is never
 * parsed as shell. (Not `sh -s` with the data appended: dash reads a script from a pipe in 8 KiB blocks,
 * so the data after it would be half-swallowed by the parser, and a cut connection would leave a
 * truncated script to run.) The manifest has a header and an `end <count>` trailer; a manifest that is
 * truncated, malformed, or has a single line the script's own checks refuse changes nothing (exit 2).
 *
 * Exit status: 0 every account converged or was reported as a conflict; 1 some account is `error`;
 * 2 stopped before changing any account (not root, no setpriv, manifest refused, group could not be
 * created, another run holds the lock), one line on stderr says why.
 *
 * Locked accounts: processes are killed with `pkill -KILL -U/-u <uid>` on every run that lists them (a
 * session that slipped in between is ended too); list only accounts that changed, not every revoked one.
 */

export const BASTION_GROUP = 'rac-bastion';

export interface BastionAccount {
  readonly uid: string;
  /** present: the account exists, is unlocked and has exactly `keys`; locked: it cannot log in and has no session. */
  readonly state: 'present' | 'locked';
  /** OpenSSH public key lines (from the roster or LDAP); ignored for locked accounts. */
  readonly keys: readonly string[];
}

export const ACCOUNT_STATUSES = ['created', 'updated', 'unchanged', 'locked', 'conflict', 'error'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export interface AccountReportLine {
  uid: string;
  status: AccountStatus;
  detail: string;
}

export interface ObservedBastionAccount {
  uid: string;
  /** Password locked ('!') or account expired: sshd refuses it. */
  locked: boolean;
  /** authorized_keys lines that are plain public keys, as `type blob comment`, in file order. */
  keys: string[];
  /** SHA256 fingerprints of `keys`, same order (as `ssh-keygen -l` prints them). */
  fingerprints: string[];
  /** Anything rac did not write: symlinks, unreadable files, lines that are not plain keys (options, junk). */
  problems: string[];
}

const MANIFEST_HEADER = 'rac-bastion-manifest 1';

/**
 * The data for BASTION_SCRIPT. One record per line, tab-separated:
 *   rac-bastion-manifest 1
 *   account <uid> present|locked
 *   key <uid> <type> <blob> rac:<uid>          (present accounts only, after their account line)
 *   end <number of accounts>
 * Uids and keys are validated here AND again by the script. Keys are written normalised: no options, no
 * user comment (a comment is free text from a roster), only `rac:<uid>` so a person can see who put it there.
 */
export function renderAccountManifest(accounts: ReadonlyArray<BastionAccount>): string {
  const lines = [MANIFEST_HEADER];
  const seen = new Set<string>();
  for (const account of accounts) {
    const uid = account.uid;
    if (typeof uid !== 'string' || !UID_PATTERN.test(uid)) {
      throw manifestError(`'${printable(uid)}' is not a valid account name`, null);
    }
    if (seen.has(uid)) throw manifestError(`${uid} is listed twice`, uid);
    seen.add(uid);
    if (account.state !== 'present' && account.state !== 'locked') {
      throw manifestError(`${uid}: state '${printable(account.state)}' is neither present nor locked`, uid);
    }
    lines.push(`account\t${uid}\t${account.state}`);
    if (account.state === 'locked') continue;
    const blobs = new Set<string>();
    account.keys.forEach((text, index) => {
      const parsed = typeof text === 'string' ? parseSshPublicKey(text) : { ok: false as const, reason: 'is not text' };
      // The reason never quotes the key: a pasted private key must not reach a log.
      if (!parsed.ok) throw manifestError(`${uid}: key ${index + 1} ${parsed.reason}`, uid);
      if (blobs.has(parsed.key.blob)) return;
      blobs.add(parsed.key.blob);
      lines.push(`key\t${uid}\t${parsed.key.type} ${parsed.key.blob} rac:${uid}`);
    });
  }
  lines.push(`end\t${seen.size}`);
  return `${lines.join('\n')}\n`;
}

/** The script's stdout: one `uid<TAB>status<TAB>detail` line per account, in manifest order. */
export function parseAccountReport(stdout: string): AccountReportLine[] {
  const report: AccountReportLine[] = [];
  for (const line of stdout.split('\n')) {
    const [uid, status, ...rest] = line.replace(/\r$/, '').split('\t');
    if (uid === undefined || !UID_PATTERN.test(uid) || !isAccountStatus(status)) continue;
    report.push({ uid, status, detail: rest.join(' ') });
  }
  return report;
}

/** The observe script's stdout (`account`/`key`/`problem` records), grouped by account and sorted by uid. */
export function parseObservedAccounts(stdout: string): ObservedBastionAccount[] {
  const accounts = new Map<string, ObservedBastionAccount>();
  for (const line of stdout.split('\n')) {
    const fields = line.replace(/\r$/, '').split('\t');
    const [kind, uid, value] = fields;
    if (uid === undefined || !UID_PATTERN.test(uid) || value === undefined) continue;
    if (kind === 'account') {
      accounts.set(uid, { uid, locked: value === 'locked', keys: [], fingerprints: [], problems: [] });
      continue;
    }
    const account = accounts.get(uid);
    if (account === undefined) continue;
    if (kind === 'key') {
      const parsed = parseSshPublicKey(value);
      if (parsed.ok) {
        account.keys.push(parsed.key.line);
        account.fingerprints.push(parsed.key.fingerprint);
      } else account.problems.push(`an authorized_keys line is not a plain public key (${parsed.reason})`);
    } else if (kind === 'problem') {
      account.problems.push(value);
    }
  }
  return [...accounts.values()].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}

function isAccountStatus(value: string | undefined): value is AccountStatus {
  return (ACCOUNT_STATUSES as readonly (string | undefined)[]).includes(value);
}

function manifestError(message: string, uid: string | null): AppError {
  return new AppError('RAC_BASTION_MANIFEST', message, { details: { uid } });
}

function printable(value: unknown): string {
  const shown = String(value).replace(/[\p{Cc}\u2028\u2029]/gu, '?');
  return shown.length > 64 ? `${shown.slice(0, 64)}…` : shown;
}

// ── The scripts ──────────────────────────────────────────────────────────────────────────────────
// POSIX sh + awk (mawk-compatible: no regex intervals), procps, shadow-utils, util-linux (setpriv, flock).
// Written as String.raw so awk's backslashes survive; they contain no '${' and no backtick on purpose.

/** Shared prologue: safe environment, root check, private work directory removed on any exit. */
const PROLOGUE = String.raw`set -u
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
`;

/** Reads `ls -ldn` output: type, mode and owner by path (paths rac looks at never contain spaces). */
const AWK_LS = String.raw`
function lsline(   p) {
  p = ($(NF - 1) == "->") ? $(NF - 2) : $NF
  ltype[p] = substr($1, 1, 1); lperm[p] = substr($1, 1, 10); lown[p] = $3; lsize[p] = $5
}
function safehome(h) { return h ~ /^\/[A-Za-z0-9._\/-]+$/ && h !~ /\.\./ && h != "/" }
function writable(p) { return substr(lperm[p], 6, 1) == "w" || substr(lperm[p], 9, 1) == "w" }
function linkproblem(h,   s, k) {
  # Test with "in" before reading: reading ltype[x] would create the entry.
  s = h "/.ssh"; k = s "/authorized_keys"
  if (h in ltype) { if (ltype[h] == "l") return "home " h " is a symlink"; if (ltype[h] != "d") return "home " h " is not a directory" }
  if (s in ltype) { if (ltype[s] == "l") return "~/.ssh is a symlink"; if (ltype[s] != "d") return "~/.ssh is not a directory" }
  if (k in ltype) { if (ltype[k] == "l") return "~/.ssh/authorized_keys is a symlink"; if (ltype[k] != "-") return "~/.ssh/authorized_keys is not a regular file" }
  return ""
}
`;

/** Validates the manifest line by line (the same rules as renderAccountManifest) and splits it. */
const AWK_MANIFEST = String.raw`
BEGIN { FS = "\t"; n = 0; bad = "" }
function refuse(msg) { if (bad == "") bad = "manifest line " NR ": " msg }
function okuid(u) { return u ~ /^[a-z_][a-z0-9._-]*$/ && length(u) <= 32 }
function okkey(k, u,   at) {
  if (k !~ /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+\/]+=* rac:[a-z0-9._-]+$/) return 0
  at = index(k, " rac:")
  return substr(k, at + 5) == u
}
NR == 1 { if ($0 != "rac-bastion-manifest 1") refuse("not a rac bastion manifest, version 1"); next }
ended { refuse("data after the end line"); next }
$1 == "account" && NF == 3 {
  if (!okuid($2)) refuse("invalid account name")
  else if ($2 in state) refuse("account listed twice")
  else if ($3 != "present" && $3 != "locked") refuse("invalid state")
  else { state[$2] = $3; order[++n] = $2; nkeys[$2] = 0 }
  next
}
$1 == "key" && NF == 3 {
  if (!($2 in state)) refuse("key before its account")
  else if (state[$2] != "present") refuse("key for a locked account")
  else if (!okkey($3, $2)) refuse("invalid key line")
  else keys[$2, ++nkeys[$2]] = $3
  next
}
$1 == "end" && NF == 2 { if ($2 != n "") refuse("account count does not match"); ended = 1; next }
{ refuse("unexpected line") }
END {
  if (bad == "" && !ended) bad = "the manifest is truncated (no end line)"
  if (bad != "") { print bad > errf; exit 1 }
  for (i = 1; i <= n; i++) {
    u = order[i]
    print u "\t" state[u] "\t" nkeys[u]
    f = dir "/" u
    printf "" > f
    for (k = 1; k <= nkeys[u]; k++) print keys[u, k] > f
    close(f)
  }
}
`;
/** What to look at with ls: every known account's home, ~/.ssh and authorized_keys; a new account's home. */
const AWK_PATHS = String.raw`
BEGIN { FS = ":" }
FILENAME == pwf { if (safehome($6)) print $6 "\n" $6 "/.ssh\n" $6 "/.ssh/authorized_keys"; known[$1] = 1; next }
{ split($0, a, "\t"); if (!(a[1] in known) && a[2] == "present") print "/home/" a[1] }
`;

/** newusers input for present accounts that do not exist and whose home path is free. */
const AWK_CREATE = String.raw`
BEGIN { FS = ":" }
FILENAME == pwf { known[$1] = 1; next }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = ":"; next }
{ split($0, a, "\t"); u = a[1]; if (a[2] == "present" && !(u in known) && !(("/home/" u) in ltype)) print u ":::rac-bastion:rac:/home/" u ":/bin/bash" }
`;

/**
 * Decides per account from the gathered files only (and, as root, authorized_keys files that ls showed to
 * be regular files of the right owner, so a FIFO or a device is never opened). One plan line per account:
 * uid state class flags uidnum gidnum home nkeys detail — '-' for empty fields, since tab is IFS whitespace.
 */
const AWK_DECIDE = String.raw`
BEGIN { FS = "\t" }
FILENAME == grpf { split($0, f, ":"); ggid = f[3]; m = split(f[4], mem, ","); for (i = 1; i <= m; i++) member[mem[i]] = 1; next }
FILENAME == pwf { split($0, f, ":"); puid[f[1]] = f[3]; pgid[f[1]] = f[4]; phome[f[1]] = f[6]; next }
FILENAME == spf { split($0, f, ":"); spw[f[1]] = f[2]; sexp[f[1]] = f[8]; next }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = "\t"; next }
FILENAME == newf { created[$0] = 1; next }
function out(u, st, cls, flags, un, gn, h, nk, detail) {
  print u "\t" st "\t" cls "\t" (flags == "" ? "-" : flags) "\t" un "\t" gn "\t" h "\t" nk "\t" (detail == "" ? "-" : detail)
}
function add(list, flag) { return list == "" ? flag : list "," flag }
function slurp(f,   line, text, rc) {
  text = ""
  while ((rc = (getline line < f)) > 0) text = text line "\n"
  if (rc == 0) close(f)
  return text
}
{
  u = $1; st = $2; nk = $3
  if (!(u in puid)) {
    h = "/home/" u
    if (st == "locked") out(u, st, "absent", "", "-", "-", h, nk, "no such account")
    else if (h in ltype) out(u, st, "error", "", "-", "-", h, nk, h " already exists; remove it or hand it over by hand")
    else out(u, st, "error", "", "-", "-", h, nk, "create-failed")
    next
  }
  un = puid[u]; gn = pgid[u]; h = phome[u]
  if (!((ggid != "" && gn == ggid) || (u in member))) { out(u, st, "conflict", "", un, gn, "-", nk, "account exists and is not in group rac-bastion; not touched"); next }
  if (un + 0 < umin) { out(u, st, "conflict", "", un, gn, "-", nk, "system account (uid " un "); not touched"); next }
  if (!safehome(h)) { out(u, st, "conflict", "", un, gn, "-", nk, "home directory is not a plain absolute path; not touched"); next }
  pw = spw[u]; ex = sexp[u]
  problem = linkproblem(h)
  s = h "/.ssh"; k = s "/authorized_keys"
  flags = (u in created) ? "new" : ""
  if (st == "present") {
    if (problem != "") { out(u, st, "error", "", un, gn, h, nk, "refused: " problem); next }
    if (pw == "" || substr(pw, 1, 1) == "!" || ex != "") flags = add(flags, "unlock")
    if (!(h in ltype)) flags = add(flags, "mkhome")
    fixhome = (h in ltype) && writable(h)
    fixssh = (s in ltype) && (lperm[s] != "drwx------" || lown[s] != un)
    want = slurp(dir "/" u)
    if (k in ltype) same = lown[k] == un && lperm[k] == "-rw-------" && lsize[k] + 0 <= 1048576 && slurp(k) == want
    else same = want == ""
    if (fixhome) flags = add(flags, "fixhome")
    if (fixssh) flags = add(flags, "fixssh")
    if (fixhome || fixssh || !same) flags = add(flags, "keys")
  } else {
    if (substr(pw, 1, 1) != "!" || ex == "" || ex + 0 > today) flags = add(flags, "lock")
    if (k in ltype) flags = add(flags, problem == "" ? "rmkeys" : "rmkeys-refused")
  }
  out(u, st, "manage", flags, un, gn, h, nk, problem)
}
`;

/**
 * Run as the account's own user (setpriv), so a symlink swapped in after the checks can only ever lead to
 * the user's own files. Builtins where possible: this runs once per changed account.
 * $1 home, $2 = 1 to remove group/other write from it, $3 = 1 to reset ~/.ssh to 0700.
 */
const USER_WRITE_KEYS = String.raw`umask 077
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
exit 0`;

const USER_REMOVE_KEYS = `cd "$1" || exit 10
[ -L .ssh ] && exit 11
[ -L .ssh/authorized_keys ] && exit 14
rm -f .ssh/authorized_keys || exit 15
exit 0`;

/** The account operation. Same text every run; the manifest is its only input (stdin). */
export const BASTION_SCRIPT = String.raw`# rac bastion accounts, v1: sh -c "$BASTION_SCRIPT" rac-bastion < manifest
${PROLOGUE}
command -v setpriv >/dev/null 2>&1 || die 'setpriv (util-linux) is required'
# One rac run at a time per host: shadow-utils lock each file, but read-decide-write must not interleave.
exec 9>>/etc/.rac-bastion.lock || die 'cannot open /etc/.rac-bastion.lock'
if command -v flock >/dev/null 2>&1; then flock -w 300 9 || die 'another rac run holds /etc/.rac-bastion.lock'; fi

USER_WRITE_KEYS='${USER_WRITE_KEYS}'
USER_REMOVE_KEYS='${USER_REMOVE_KEYS}'
AWK_MANIFEST='${AWK_MANIFEST}'
AWK_PATHS='${AWK_LS}${AWK_PATHS}'
AWK_CREATE='${AWK_LS}${AWK_CREATE}'
AWK_DECIDE='${AWK_LS}${AWK_DECIDE}'

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
awk -v grpf="$W/group" -v pwf="$W/passwd" -v spf="$W/shadow" -v lsf="$W/ls" -v newf="$W/created" \
  -v dir="$W/keys" -v umin="$umin" -v today="$today" \
  "$AWK_DECIDE" "$W/group" "$W/passwd" "$W/shadow" "$W/ls" "$W/created" "$W/accounts" > "$W/plan" \
  || die 'internal error while deciding; no account was changed beyond being created'

report() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
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
        else report "$u" updated "$(echo $changes)"; fi
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
        if [ -n "$failed" ]; then report "$u" error "$(echo $changes $failed)"; ERR=1
        elif [ -z "$changes" ]; then report "$u" unchanged "already locked"
        else report "$u" locked "$(echo $changes)"; fi
      fi
      ;;
    *) report "$u" error "internal: unknown plan '$class'"; ERR=1 ;;
  esac
done 3< "$W/plan"
exit $ERR
`;

/**
 * Read-only: members of rac-bastion (primary or supplementary group), each with its lock state and the
 * lines of its authorized_keys that look like keys; everything else is a `problem` record, never content
 * (a line with options, or a file that turned out to be a symlink to something secret, is not echoed).
 */
export const OBSERVE_SCRIPT = String.raw`# rac bastion observe, v1: sh -c "$OBSERVE_SCRIPT" rac-bastion
${PROLOGUE}
AWK_MEMBERS='
BEGIN { FS = ":" }
FILENAME == grpf { gid = $3; m = split($4, mem, ","); for (i = 1; i <= m; i++) member[mem[i]] = 1; next }
($4 == gid || ($1 in member)) && !($1 in seen) && $1 ~ /^[a-z_][a-z0-9._-]*$/ && length($1) <= 32 { seen[$1] = 1; print }
'
AWK_OBSERVE='${AWK_LS}
BEGIN { FS = ":" }
FILENAME == spf { spw[$1] = $2; sexp[$1] = $8; next }
FILENAME == lsf { FS = " "; $0 = $0; lsline(); FS = ":"; next }
{
  u = $1; h = $6; pw = spw[u]; ex = sexp[u]
  locked = (substr(pw, 1, 1) == "!" || (ex != "" && ex + 0 <= today)) ? "locked" : "active"
  print "account\t" u "\t" locked
  if (!safehome(h)) { print "problem\t" u "\thome directory is not a plain absolute path"; next }
  p = linkproblem(h)
  if (p != "") { print "problem\t" u "\t" p; next }
  k = h "/.ssh/authorized_keys"
  if (!(k in ltype)) next
  if (lown[k] != $3) print "problem\t" u "\tauthorized_keys is not owned by the user"
  if (lsize[k] + 0 > 1048576) { print "problem\t" u "\tauthorized_keys is larger than 1 MiB; not read"; next }
  bad = 0
  while ((rc = (getline line < k)) > 0) {
    gsub(/\t|\r/, " ", line)
    if (line ~ /^[ ]*(#|$)/) continue
    if (line ~ /^(ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]* [A-Za-z0-9+\/]+=*( |$)/) print "key\t" u "\t" line
    else bad++
  }
  if (rc < 0) print "problem\t" u "\tauthorized_keys could not be read"
  else close(k)
  if (bad > 0) print "problem\t" u "\t" bad " authorized_keys lines carry options or are not keys"
}
'
getent group "$G" > "$W/group" || exit 0
getent passwd > "$W/all"
awk -v grpf="$W/group" "$AWK_MEMBERS" "$W/group" "$W/all" > "$W/passwd"
[ -s "$W/passwd" ] || exit 0
cut -d: -f1 "$W/passwd" | xargs getent shadow > "$W/shadow" 2>/dev/null
awk -F: '{ print $6 "\n" $6 "/.ssh\n" $6 "/.ssh/authorized_keys" }' "$W/passwd" | grep '^/[A-Za-z0-9._/-]*$' > "$W/paths"
: > "$W/ls"
if [ -s "$W/paths" ]; then xargs ls -ldn -- < "$W/paths" > "$W/ls" 2>/dev/null; fi
awk -v spf="$W/shadow" -v lsf="$W/ls" -v today="$today" "$AWK_OBSERVE" "$W/shadow" "$W/ls" "$W/passwd"
`;

/** argv for RemoteShell.exec: the script is argv, the manifest goes to stdin. `$0` names it in error messages. */
export const BASTION_ARGV: readonly string[] = ['sh', '-c', BASTION_SCRIPT, 'rac-bastion'];
export const OBSERVE_ARGV: readonly string[] = ['sh', '-c', OBSERVE_SCRIPT, 'rac-bastion'];
