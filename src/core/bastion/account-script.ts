import { AppError } from '../errors.ts';
import { printable } from '../printable.ts';
import { parseSshPublicKey } from '../roster/ssh-public-key.ts';
import { UID_PATTERN } from '../uid.ts';

/**
 * Bastion accounts, converged by ONE remote exec per host:
 *
 *   exec(bastionArgv(), { stdin: renderAccountManifest(accounts, login) })   i.e.  sh -c "$BASTION_SCRIPT" rac-bastion < manifest
 *
 * The scripts themselves are files in src/adapters/gateways/bastion/scripts/ (read by scripts.ts);
 * this module holds what is pure: the manifest they read and the reports they print.
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

/**
 * What a bastion login may do. `jump-only`: the key is written with options that allow port
 * forwarding (so `ssh -J` and `-W` work) and nothing else: `restrict` takes away agent and X11
 * forwarding, PTYs and ~/.ssh/rc, and the forced command takes away the shell and any command,
 * which `restrict,port-forwarding` alone leaves (sshd still runs a command or a PTY-less shell).
 * `shell`: the key is written plain, as a normal login.
 */
export const BASTION_LOGINS = ['jump-only', 'shell'] as const;
export type BastionLogin = (typeof BASTION_LOGINS)[number];
/** The only options rac ever writes; the manifest check and the observe script know exactly this text. */
export const JUMP_ONLY_OPTIONS = 'restrict,port-forwarding,command="/bin/false"';

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
  /** authorized_keys lines that are keys (plain or with rac's jump-only options), as `type blob comment`, in file order. */
  keys: string[];
  /** How `keys` are written: one mode, 'mixed', or null when there are none. */
  login: BastionLogin | 'mixed' | null;
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
 *   key <uid> [<jump-only options> ]<type> <blob> rac:<uid>   (present accounts only, after their account line)
 *   end <number of accounts>
 * Uids and keys are validated here AND again by the script. Keys are written normalised: no options of
 * their own (a key with options is refused), no user comment (a comment is free text from a roster), only
 * `rac:<uid>` so a person can see who put it there; with `login` jump-only, rac's JUMP_ONLY_OPTIONS first.
 */
export function renderAccountManifest(accounts: ReadonlyArray<BastionAccount>, login: BastionLogin): string {
  if (!(BASTION_LOGINS as readonly string[]).includes(login))
    throw manifestError(`login '${printable(login)}' is neither jump-only nor shell`, null);
  const prefix = login === 'jump-only' ? `${JUMP_ONLY_OPTIONS} ` : '';
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
      lines.push(`key\t${uid}\t${prefix}${parsed.key.type} ${parsed.key.blob} rac:${uid}`);
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
      accounts.set(uid, { uid, locked: value === 'locked', keys: [], login: null, fingerprints: [], problems: [] });
      continue;
    }
    const account = accounts.get(uid);
    if (account === undefined) continue;
    if (kind === 'key') {
      // rac's own options, exactly; any other option fails parseSshPublicKey and is a problem.
      const jumpOnly = value.startsWith(`${JUMP_ONLY_OPTIONS} `);
      const text = jumpOnly ? value.slice(JUMP_ONLY_OPTIONS.length + 1) : value;
      const parsed = /^\S/.test(text)
        ? parseSshPublicKey(text)
        : { ok: false as const, reason: 'it does not start with the key type' };
      if (parsed.ok) {
        const login: BastionLogin = jumpOnly ? 'jump-only' : 'shell';
        account.keys.push(parsed.key.line);
        account.fingerprints.push(parsed.key.fingerprint);
        account.login = account.login === null || account.login === login ? login : 'mixed';
      } else account.problems.push(`an authorized_keys line is not a key as rac writes it (${parsed.reason})`);
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
