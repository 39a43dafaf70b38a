import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bastionScript, observeScript } from '../../src/adapters/gateways/bastion/scripts.ts';
import {
  type AccountReportLine,
  type BastionAccount,
  type BastionLogin,
  JUMP_ONLY_OPTIONS,
  parseAccountReport,
  parseObservedAccounts,
  renderAccountManifest as renderWith,
} from '../../src/core/bastion/account-script.ts';
import { parseSshPublicKey } from '../../src/core/roster/ssh-public-key.ts';

/**
 * BASTION_SCRIPT for real, as root, against shadow-utils, setpriv and a real sshd — but never the machine's
 * own accounts: every run happens in a throwaway mount + pid + network namespace where /etc is a private
 * copy and /home an empty directory (the pid namespace also keeps `pkill -u` from seeing host processes).
 */

const CAN_RUN =
  process.getuid?.() === 0 &&
  ['/usr/bin/unshare', '/usr/sbin/newusers', '/usr/bin/setpriv', '/usr/sbin/ip'].every((p) => existsSync(p));
const HAS_SSHD = existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/ssh');
const USERS = 500;
const PORT = 2222;
const uidOf = (i: number) => `user${String(i).padStart(3, '0')}`;

let ROOT = '';
const keys = new Map<string, string>();

/** Mounts the private /etc and /home over the real ones, inside the namespace only. $1 is ROOT. */
const PREP = `set -e
mount --bind "$1/etc" /etc
mount --bind "$1/home" /home
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -m 755 /run/sshd
ip link set lo up
set +e
`;

function inNamespace(body: string, stdin = ''): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    '/usr/bin/unshare',
    [
      '--mount',
      '--pid',
      '--net',
      '--fork',
      '--mount-proc',
      '--propagation',
      'private',
      'sh',
      '-c',
      `${PREP}${body}`,
      'sh',
      ROOT,
    ],
    {
      input: stdin,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', RAC_SCRIPT: bastionScript(), RAC_OBSERVE: observeScript() },
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Run {
  code: number;
  report: AccountReportLine[];
  byStatus: Record<string, string[]>;
  stderr: string;
  /** The script alone, without the namespace setup. */
  ms: number;
  /** What `before`/`after` printed. */
  extra: string;
}

/** Runs BASTION_SCRIPT exactly as the driver does (`sh -c <script>`, manifest on stdin). */
function runScript(manifest: string, options: { before?: string; after?: string } = {}): Run {
  const body = `${options.before ?? ''}
s=$(date +%s%N)
sh -c "$RAC_SCRIPT" rac-bastion > "$1/report" 2> "$1/stderr"
rc=$?
e=$(date +%s%N)
echo "$rc $(( (e - s) / 1000000 ))" > "$1/rc"
${options.after ?? ''}`;
  const ns = inNamespace(body, manifest);
  expect(ns.status, ns.stderr).toBe(0);
  const [code, ms] = readFileSync(join(ROOT, 'rc'), 'utf8').trim().split(' ').map(Number);
  const report = parseAccountReport(readFileSync(join(ROOT, 'report'), 'utf8'));
  const byStatus: Record<string, string[]> = {};
  for (const line of report) byStatus[line.status] = [...(byStatus[line.status] ?? []), line.uid];
  return {
    code: code ?? -1,
    report,
    byStatus,
    stderr: readFileSync(join(ROOT, 'stderr'), 'utf8'),
    ms: ms ?? -1,
    extra: ns.stdout,
  };
}

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
function ed25519(): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x ?? '', 'base64url'))]);
  return `ssh-ed25519 ${blob.toString('base64')} someone@laptop`;
}

/** Most tests here are about accounts, not the login mode: plain keys unless a test says otherwise. */
function renderAccountManifest(accounts: readonly BastionAccount[], login: BastionLogin = 'shell'): string {
  return renderWith(accounts, login);
}

function present(uids: readonly string[]): BastionAccount[] {
  return uids.map((uid) => ({ uid, state: 'present', keys: [keys.get(uid) as string] }));
}
function locked(uids: readonly string[]): BastionAccount[] {
  return uids.map((uid) => ({ uid, state: 'locked', keys: [] }));
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => uidOf(from + i));

/** /etc/passwd and /etc/shadow of the private copy, by user. */
function accounts(): Map<string, { passwd: string[]; shadow: string[] }> {
  const out = new Map<string, { passwd: string[]; shadow: string[] }>();
  for (const line of readFileSync(join(ROOT, 'etc/passwd'), 'utf8').trim().split('\n')) {
    const fields = line.split(':');
    out.set(fields[0] as string, { passwd: fields, shadow: [] });
  }
  for (const line of readFileSync(join(ROOT, 'etc/shadow'), 'utf8').trim().split('\n')) {
    const fields = line.split(':');
    const entry = out.get(fields[0] as string);
    if (entry !== undefined) entry.shadow = fields;
  }
  return out;
}

/**
 * Logs in with a real ssh client to a real sshd (StrictModes on) inside the namespace: `command` runs
 * `echo logged-in`, `forward` asks only for a forwarded connection back to the sshd itself (what
 * `ssh -J` does) and looks for its banner.
 */
function logins(uids: readonly string[], how: 'command' | 'forward' = 'command'): Record<string, 'ok' | 'denied'> {
  const options =
    '-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5';
  const attempts = uids
    .map((u) =>
      how === 'command'
        ? `if ssh -F /dev/null -i "$1/keys/${u}" ${options} -p ${PORT} ${u}@127.0.0.1 'echo logged-in' 2>/dev/null | grep -q logged-in; ` +
          `then echo "${u} ok"; else echo "${u} denied"; fi`
        : `if ssh -F /dev/null -i "$1/keys/${u}" ${options} -p ${PORT} -W 127.0.0.1:${PORT} ${u}@127.0.0.1 < /dev/null 2>/dev/null | head -c 8 | grep -q SSH-2.0; ` +
          `then echo "${u} ok"; else echo "${u} denied"; fi`,
    )
    .join('\n');
  const ns = inNamespace(`/usr/sbin/sshd -D -e -f "$1/sshd_config" 2> "$1/sshd.log" &
sshd=$!
i=0
while [ $i -lt 100 ] && ! ssh-keyscan -T 1 -p ${PORT} 127.0.0.1 > /dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
${attempts}
kill $sshd
`);
  return Object.fromEntries(
    ns.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, 'ok' | 'denied']),
  );
}

describe.skipIf(!CAN_RUN)('bastion account script, for real, in a private namespace', () => {
  beforeAll(() => {
    ROOT = mkdtempSync('/tmp/rac-bastion-it-');
    execFileSync('cp', ['-a', '/etc', join(ROOT, 'etc')]);
    mkdirSync(join(ROOT, 'home'));
    mkdirSync(join(ROOT, 'keys'), { mode: 0o700 });
    // Two people get real key pairs (for ssh logins); everyone else a freshly generated public key.
    for (let i = 0; i < USERS; i++) {
      const uid = uidOf(i);
      if (i < 3) {
        execFileSync('ssh-keygen', [
          '-q',
          '-t',
          'ed25519',
          '-N',
          '',
          '-C',
          `${uid}@laptop`,
          '-f',
          join(ROOT, 'keys', uid),
        ]);
        keys.set(uid, readFileSync(join(ROOT, 'keys', `${uid}.pub`), 'utf8').trim());
      } else keys.set(uid, ed25519());
    }
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(ROOT, 'hostkey')]);
    writeFileSync(
      join(ROOT, 'sshd_config'),
      [
        `Port ${PORT}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${ROOT}/hostkey`,
        'PidFile /run/sshd.pid',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    // Someone who already has an account named like a rac user, outside rac's group.
    const made = inNamespace('useradd -m -s /bin/sh clash && echo hello > /home/clash/notes && echo done');
    expect(made.stdout.trim(), made.stderr).toBe('done');
  });

  afterAll(() => {
    if (ROOT !== '') rmSync(ROOT, { recursive: true, force: true });
  });

  it(`creates ${USERS} accounts in one run`, () => {
    const run = runScript(renderAccountManifest(present(range(0, USERS))));
    console.log(`bastion script: ${USERS} new accounts in ${run.ms} ms`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.byStatus['created']).toHaveLength(USERS);

    const all = accounts();
    const group = readFileSync(join(ROOT, 'etc/group'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('rac-bastion:'));
    const gid = group?.split(':')[2];
    expect(gid).toMatch(/^\d+$/);
    for (const uid of range(0, USERS)) {
      const entry = all.get(uid);
      expect(entry?.passwd.slice(3), uid).toEqual([gid, 'rac', `/home/${uid}`, '/bin/bash']);
      // '*': no password at all, yet not locked (sshd with UsePAM no refuses '!').
      expect(entry?.shadow[1], uid).toBe('*');
    }
    const user = all.get('user123')?.passwd;
    const file = join(ROOT, 'home/user123/.ssh/authorized_keys');
    const key = parseSshPublicKey(keys.get('user123') as string);
    if (!key.ok) throw new Error('test key');
    expect(readFileSync(file, 'utf8')).toBe(`ssh-ed25519 ${key.key.blob} rac:user123\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(ROOT, 'home/user123/.ssh')).mode & 0o777).toBe(0o700);
    expect(String(statSync(file).uid)).toBe(user?.[2]);
    expect(String(statSync(join(ROOT, 'home/user123/.ssh')).uid)).toBe(user?.[2]);
  });

  it('re-running the same manifest changes nothing', () => {
    const file = join(ROOT, 'home/user007/.ssh/authorized_keys');
    const before = statSync(file);
    const passwd = readFileSync(join(ROOT, 'etc/passwd'), 'utf8');
    const run = runScript(renderAccountManifest(present(range(0, USERS))));
    console.log(`bastion script: ${USERS} unchanged accounts in ${run.ms} ms`);
    expect(run.code).toBe(0);
    expect(run.byStatus['unchanged']).toHaveLength(USERS);
    expect(run.report[0]).toEqual({ uid: 'user000', status: 'unchanged', detail: '1 keys' });
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(file).ino).toBe(before.ino);
    expect(readFileSync(join(ROOT, 'etc/passwd'), 'utf8')).toBe(passwd);
  });

  it.skipIf(!HAS_SSHD)('a real sshd lets the new accounts in with their keys', () => {
    expect(logins(['user000', 'user001'])).toEqual({ user000: 'ok', user001: 'ok' });
  });

  it.skipIf(!HAS_SSHD)(
    'login jump-only writes rac options: sshd forwards (ssh -J) and runs no command; shell again is a change',
    () => {
      const file = join(ROOT, 'home/user002/.ssh/authorized_keys');
      const key = parseSshPublicKey(keys.get('user002') as string);
      if (!key.ok) throw new Error('test key');
      const jump = runScript(renderAccountManifest(present(['user002']), 'jump-only'));
      expect(jump.report).toEqual([{ uid: 'user002', status: 'updated', detail: 'keys written (1);' }]);
      expect(readFileSync(file, 'utf8')).toBe(`${JUMP_ONLY_OPTIONS} ssh-ed25519 ${key.key.blob} rac:user002\n`);
      expect(runScript(renderAccountManifest(present(['user002']), 'jump-only')).report[0]?.status).toBe('unchanged');
      expect(logins(['user002', 'user001'])).toEqual({ user002: 'denied', user001: 'ok' });
      expect(logins(['user002', 'user001'], 'forward')).toEqual({ user002: 'ok', user001: 'ok' });

      const shell = runScript(renderAccountManifest(present(['user002']), 'shell'));
      expect(shell.report).toEqual([{ uid: 'user002', status: 'updated', detail: 'keys written (1);' }]);
      expect(readFileSync(file, 'utf8')).toBe(`ssh-ed25519 ${key.key.blob} rac:user002\n`);
      expect(logins(['user002'])).toEqual({ user002: 'ok' });
    },
  );

  it('replaces keys when they change', () => {
    const fresh = ed25519();
    const run = runScript(
      renderAccountManifest([{ uid: 'user200', state: 'present', keys: [fresh, keys.get('user200') as string] }]),
    );
    expect(run.report).toEqual([{ uid: 'user200', status: 'updated', detail: 'keys written (2);' }]);
    expect(readFileSync(join(ROOT, 'home/user200/.ssh/authorized_keys'), 'utf8').split('\n')).toHaveLength(3);
  });

  it('locks accounts: password and expiry, keys gone, running processes killed', () => {
    const lockUids = range(0, 30);
    const run = runScript(renderAccountManifest(locked(lockUids)), {
      // A process of user001 still running, as after a login.
      before: 'setpriv --reuid="$(id -u user001)" --regid="$(id -g user001)" --clear-groups sleep 300 &\nsleep 0.2',
      after: 'ps -eo user=,args= | grep "sleep 300" | grep -v grep || echo "no sleep left"',
    });
    expect(run.code).toBe(0);
    expect(run.byStatus['locked']).toHaveLength(30);
    expect(run.report.find((r) => r.uid === 'user001')?.detail).toBe('locked; keys removed; processes killed;');
    expect(run.report.find((r) => r.uid === 'user002')?.detail).toBe('locked; keys removed;');
    expect(run.extra.trim()).toBe('no sleep left');
    const all = accounts();
    for (const uid of lockUids) {
      expect(all.get(uid)?.shadow[1], uid).toBe('!*');
      expect(all.get(uid)?.shadow[7], uid).toBe('1');
      expect(existsSync(join(ROOT, `home/${uid}/.ssh/authorized_keys`)), uid).toBe(false);
    }
    // Locking twice is a no-op.
    const again = runScript(renderAccountManifest(locked(lockUids)));
    expect(again.byStatus['unchanged']).toHaveLength(30);
    expect(again.report[0]).toEqual({ uid: 'user000', status: 'unchanged', detail: 'already locked' });
  });

  it.skipIf(!HAS_SSHD)('a real sshd refuses a locked account, and lets it in again once present', () => {
    expect(logins(['user000', 'user001', 'user002'])).toEqual({
      user000: 'denied',
      user001: 'denied',
      user002: 'denied',
    });
    const run = runScript(renderAccountManifest(present(['user001'])));
    expect(run.report).toEqual([{ uid: 'user001', status: 'updated', detail: 'unlocked; keys written (1);' }]);
    expect(
      accounts()
        .get('user001')
        ?.shadow.slice(1, 2)
        .concat(accounts().get('user001')?.shadow[7] ?? ''),
    ).toEqual(['*', '']);
    expect(logins(['user001'])).toEqual({ user001: 'ok' });
  });

  it('leaves an account outside rac-bastion alone and reports a conflict', () => {
    const before = accounts().get('clash');
    const home = readFileSync(join(ROOT, 'home/clash/notes'), 'utf8');
    keys.set('clash', ed25519());
    for (const manifest of [renderAccountManifest(present(['clash'])), renderAccountManifest(locked(['clash']))]) {
      const run = runScript(manifest);
      expect(run.code).toBe(0);
      expect(run.report).toEqual([
        { uid: 'clash', status: 'conflict', detail: 'account exists and is not in group rac-bastion; not touched' },
      ]);
    }
    expect(accounts().get('clash')).toEqual(before);
    expect(readFileSync(join(ROOT, 'home/clash/notes'), 'utf8')).toBe(home);
    expect(existsSync(join(ROOT, 'home/clash/.ssh'))).toBe(false);
  });

  it('refuses to write through a symlinked ~/.ssh or authorized_keys', () => {
    // Targets inside the private /home, so even a broken script could not reach anything real.
    mkdirSync(join(ROOT, 'home/decoy'));
    writeFileSync(join(ROOT, 'home/decoy/authorized_keys'), 'sentinel\n');
    rmSync(join(ROOT, 'home/user050/.ssh'), { recursive: true });
    symlinkSync('/home/decoy', join(ROOT, 'home/user050/.ssh'));
    rmSync(join(ROOT, 'home/user051/.ssh/authorized_keys'));
    symlinkSync('/home/decoy/authorized_keys', join(ROOT, 'home/user051/.ssh/authorized_keys'));
    keys.set('user050', ed25519());

    const run = runScript(renderAccountManifest([...present(['user050']), ...locked(['user051'])]));
    expect(run.code).toBe(1);
    expect(run.report).toEqual([
      { uid: 'user050', status: 'error', detail: 'refused: ~/.ssh is a symlink' },
      {
        uid: 'user051',
        status: 'error',
        detail: 'locked; keys not removed: ~/.ssh/authorized_keys is a symlink;',
      },
    ]);
    expect(readFileSync(join(ROOT, 'home/decoy/authorized_keys'), 'utf8')).toBe('sentinel\n');
    expect(lstatSync(join(ROOT, 'home/user050/.ssh')).isSymbolicLink()).toBe(true);
    expect(accounts().get('user051')?.shadow[1]).toBe('!*');
  });

  it('renderAccountManifest refuses a key carrying a forced command', () => {
    expect(() =>
      renderAccountManifest([
        { uid: 'user010', state: 'present', keys: [`command="echo pwned" ${keys.get('user010')}`] },
      ]),
    ).toThrow(/options .* are not allowed/);
  });

  it.each([
    [
      'a key with options',
      (k: string) =>
        `rac-bastion-manifest 1\naccount\tuser010\tpresent\nkey\tuser010\tcommand="touch /home/pwned" ${k}\nend\t1\n`,
    ],
    ['a uid that is shell', () => 'rac-bastion-manifest 1\naccount\t$(touch /home/pwned)\tpresent\nend\t1\n'],
    ['a truncated manifest', () => 'rac-bastion-manifest 1\naccount\tuser010\tlocked\naccount\tuser011\tlo'],
    ['a wrong count', () => 'rac-bastion-manifest 1\naccount\tuser010\tlocked\nend\t2\n'],
    [
      'a key for someone else',
      (k: string) =>
        `rac-bastion-manifest 1\naccount\tuser010\tpresent\nkey\tuser010\t${k.split(' ').slice(0, 2).join(' ')} rac:user011\nend\t1\n`,
    ],
    ['no header', () => 'account\tuser010\tlocked\nend\t1\n'],
    [
      'rac options without the forced command',
      (k: string) =>
        `rac-bastion-manifest 1\naccount\tuser010\tpresent\nkey\tuser010\trestrict,port-forwarding ${k.split(' ').slice(0, 2).join(' ')} rac:user010\nend\t1\n`,
    ],
    [
      'rac options with one more',
      (k: string) =>
        `rac-bastion-manifest 1\naccount\tuser010\tpresent\nkey\tuser010\t${JUMP_ONLY_OPTIONS},permitopen="*:*" ${k.split(' ').slice(0, 2).join(' ')} rac:user010\nend\t1\n`,
    ],
  ])('the script itself refuses a hand-made manifest with %s, changing nothing', (_what, make) => {
    const passwd = readFileSync(join(ROOT, 'etc/shadow'), 'utf8');
    const run = runScript(make(keys.get('user010') as string));
    expect(run.code).toBe(2);
    expect(run.report).toEqual([]);
    expect(run.stderr).toMatch(
      /^rac-bastion: manifest refused, nothing was changed: (?:manifest line \d+: |the manifest is truncated)/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(ROOT, 'home/pwned'))).toBe(false);
    expect(readFileSync(join(ROOT, 'etc/shadow'), 'utf8')).toBe(passwd);
  });

  it('OBSERVE_SCRIPT lists rac-bastion members with lock state, keys and problems', () => {
    // Someone added a key with a forced command by hand: reported as a problem, never as a key or verbatim.
    const extra = keys.get('user199') as string;
    appendFileSync(
      join(ROOT, 'home/user199/.ssh/authorized_keys'),
      `command="/bin/secret-thing" ${extra}\n# a comment\n`,
    );
    const ns = inNamespace(`s=$(date +%s%N)
sh -c "$RAC_OBSERVE" rac-bastion
rc=$?
echo "$(( ($(date +%s%N) - s) / 1000000 ))" > "$1/observe-ms"
exit $rc`);
    console.log(`bastion observe: ${USERS} accounts in ${readFileSync(join(ROOT, 'observe-ms'), 'utf8').trim()} ms`);
    expect(ns.stdout).not.toContain('secret-thing');
    expect(ns.status, ns.stderr).toBe(0);
    const observed = new Map(parseObservedAccounts(ns.stdout).map((a) => [a.uid, a]));
    expect(observed.size).toBe(USERS);
    expect(observed.has('clash')).toBe(false);
    expect(observed.get('user000')).toEqual({
      uid: 'user000',
      locked: true,
      keys: [],
      login: null,
      fingerprints: [],
      problems: [],
    });
    const key = parseSshPublicKey(keys.get('user123') as string);
    if (!key.ok) throw new Error('test key');
    expect(observed.get('user123')).toEqual({
      uid: 'user123',
      locked: false,
      keys: [`ssh-ed25519 ${key.key.blob} rac:user123`],
      login: 'shell',
      fingerprints: [key.key.fingerprint],
      problems: [],
    });
    expect(observed.get('user050')?.problems).toEqual(['~/.ssh is a symlink']);
    expect(observed.get('user199')?.keys).toHaveLength(1);
    expect(observed.get('user199')?.problems).toEqual(['1 authorized_keys lines carry options or are not keys']);
    // user000–user029 were locked, user001 unlocked again, user051 locked.
    expect([...observed.values()].filter((a) => a.locked)).toHaveLength(30);
  });

  it('OBSERVE_SCRIPT never prints key lines from a file the user may not read, symlinked or swapped in after ls', () => {
    // Key-looking lines only root may read: a root-only directory holding a root-only authorized_keys.
    const secret = join(ROOT, 'secret');
    mkdirSync(secret, { mode: 0o700 });
    const secretKeys = Array.from({ length: 5 }, () => ed25519());
    writeFileSync(join(secret, 'authorized_keys'), `${secretKeys.join('\n')}\n`, { mode: 0o600 });
    const home = (u: string) => join(ROOT, 'home', u);
    // Set up before observe runs: authorized_keys, then ~/.ssh, pointing at root's; a root-owned 0600 file in place.
    rmSync(join(home('user060'), '.ssh/authorized_keys'));
    symlinkSync(join(secret, 'authorized_keys'), join(home('user060'), '.ssh/authorized_keys'));
    rmSync(join(home('user061'), '.ssh'), { recursive: true });
    symlinkSync(secret, join(home('user061'), '.ssh'));
    writeFileSync(join(home('user062'), '.ssh/authorized_keys'), `${secretKeys.join('\n')}\n`, { mode: 0o600 });
    execFileSync('chown', ['0:0', join(home('user062'), '.ssh/authorized_keys')]);
    // Swapped in between the script's ls and its read: ls is replaced (in the namespace only) by one that
    // runs the real ls and then makes the swap, so the race is won every time.
    execFileSync('cp', ['/usr/bin/ls', join(ROOT, 'ls.real')]);
    writeFileSync(
      join(ROOT, 'ls-then-swap'),
      `#!/bin/sh
"${ROOT}/ls.real" "$@"
rc=$?
rm -f /home/user063/.ssh/authorized_keys && ln -s "${secret}/authorized_keys" /home/user063/.ssh/authorized_keys
rm -rf /home/user064/.ssh && ln -s "${secret}" /home/user064/.ssh
exit $rc
`,
      { mode: 0o755 },
    );

    const ns = inNamespace(`mount --bind "$1/ls-then-swap" /usr/bin/ls
sh -c "$RAC_OBSERVE" rac-bastion`);
    expect(ns.status, ns.stderr).toBe(0);
    // The swap did happen after ls looked.
    expect(lstatSync(join(home('user063'), '.ssh/authorized_keys')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(home('user064'), '.ssh')).isSymbolicLink()).toBe(true);
    for (const line of secretKeys) expect(ns.stdout).not.toContain(line.split(' ')[1]);
    const observed = new Map(parseObservedAccounts(ns.stdout).map((a) => [a.uid, a]));
    expect(observed.get('user060')?.problems).toEqual(['~/.ssh/authorized_keys is a symlink']);
    expect(observed.get('user061')?.problems).toEqual(['~/.ssh is a symlink']);
    expect(observed.get('user062')?.problems).toEqual([
      'authorized_keys is not owned by the user',
      'authorized_keys could not be read as the user (a symlink, or not readable by the user)',
    ]);
    for (const uid of ['user063', 'user064'])
      expect(observed.get(uid)?.problems, uid).toEqual([
        'authorized_keys could not be read as the user (a symlink, or not readable by the user)',
      ]);
    for (const uid of ['user060', 'user061', 'user062', 'user063', 'user064']) {
      expect(observed.get(uid)?.keys, uid).toEqual([]);
      expect(observed.get(uid)?.locked, uid).toBe(false);
    }
    // Everyone else is read as before.
    expect(observed.get('user065')?.keys).toHaveLength(1);
  });

  it('the account script never reads authorized_keys as root: a FIFO or root-only file swapped in after ls is refused', () => {
    // root-only copies of exactly what rac would write: equal content must not make the account "unchanged".
    const want = (u: string) => {
      const key = parseSshPublicKey(keys.get(u) as string);
      if (!key.ok) throw new Error('test key');
      return `ssh-ed25519 ${key.key.blob} rac:${u}\n`;
    };
    const secret = mkdtempSync(join(ROOT, 'secret-'));
    writeFileSync(join(secret, 'user066'), want('user066'), { mode: 0o600 });
    execFileSync('mkfifo', ['-m', '666', join(secret, 'fifo')]);
    execFileSync('chmod', ['755', secret]);
    execFileSync('cp', ['/usr/bin/ls', join(ROOT, 'ls.real')]);
    writeFileSync(
      join(ROOT, 'ls-then-swap'),
      `#!/bin/sh
"${ROOT}/ls.real" "$@"
rc=$?
rm -f /home/user066/.ssh/authorized_keys && ln -s "${secret}/user066" /home/user066/.ssh/authorized_keys
rm -f /home/user067/.ssh/authorized_keys && ln -s "${secret}/fifo" /home/user067/.ssh/authorized_keys
exit $rc
`,
      { mode: 0o755 },
    );
    // (A FIFO opened for reading would hold the script until runScript's timeout, which fails the run.)
    const run = runScript(renderAccountManifest(present(['user066', 'user067'])), {
      before: 'mount --bind "$1/ls-then-swap" /usr/bin/ls',
    });
    expect(run.report).toEqual([
      { uid: 'user066', status: 'error', detail: 'refused: ~/.ssh/authorized_keys is a symlink' },
      { uid: 'user067', status: 'error', detail: 'refused: ~/.ssh/authorized_keys is a symlink' },
    ]);
    expect(readFileSync(join(secret, 'user066'), 'utf8')).toBe(want('user066'));
  });
});
