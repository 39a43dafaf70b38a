import type { GatewayConfig } from '../../config/schema.ts';
import type { Finding } from '../../core/doctor/findings.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../ports.ts';
import type { DoctorHost } from './ports.ts';
import { codeOf, make, messageOf } from './support.ts';

export interface HostContext {
  readonly host: DoctorHost;
  readonly gateway: GatewayConfig;
  readonly shell: RemoteShell;
  readonly timeoutMs: number;
  /** One of rac's calls as root (DoctorHost.runAsRoot), on the doctor's time budget. */
  runAsRoot(call: string, options?: ExecOptions): Promise<ExecResult>;
}

export type HostCheck = (ctx: HostContext) => Promise<Finding[]>;

/**
 * Every host: the pin, the login and root or sudo, then the checks of its kind. A host whose key
 * does not match is never logged in to.
 */
export async function checkHost(
  host: DoctorHost,
  checksByKind: Readonly<Record<string, readonly HostCheck[]>>,
): Promise<Finding[]> {
  const out: Finding[] = [];
  try {
    const pin = await checkHostPin(host);
    out.push(pin);
    if (pin.status === 'fail') return out;
    const login = await checkSshLogin(host);
    out.push(login.finding);
    if (login.shell === null) return out;
    const timeoutMs = Math.min(host.gateway.ssh.timeout_ms, 15_000);
    const privilege = await checkPrivilege(host, login.shell, login.uid, timeoutMs);
    out.push(...privilege);
    if (privilege.some((f) => f.status === 'fail')) return out;
    const ctx: HostContext = {
      host,
      gateway: host.gateway,
      shell: login.shell,
      timeoutMs,
      runAsRoot: (call, options) => host.runAsRoot(call, { timeoutMs, ...options }),
    };
    const checks = checksByKind[host.gateway.kind];
    if (checks === undefined) {
      out.push(
        make(
          `${host.gateway.kind}.checks`,
          host.gateway.name,
          'skipped',
          `rac doctor has no checks for kind ${host.gateway.kind} yet`,
        ),
      );
      return out;
    }
    for (const check of checks) out.push(...(await check(ctx)));
    return out;
  } finally {
    await host.close().catch(() => undefined);
  }
}

async function checkHostPin(host: DoctorHost): Promise<Finding> {
  const { name, ssh } = host.gateway;
  let pinned: string | null;
  try {
    pinned = host.pinnedFingerprint();
  } catch (err) {
    return make('host.pin', name, 'fail', messageOf(err), `rac trust ${name}`);
  }
  if (pinned === null) {
    return make(
      'host.pin',
      name,
      'fail',
      `no host key is pinned for ${name} (gateways: ssh.host_key): rac never talks to an unpinned host`,
      `rac trust ${name}   (compare the fingerprint it shows with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host itself)`,
    );
  }
  let offered: { fingerprint: string };
  try {
    offered = await host.scanHostKey();
  } catch (err) {
    return make(
      'host.reachable',
      name,
      'fail',
      messageOf(err),
      `check ssh.host and ssh.port (${ssh.host}:${ssh.port}) and that sshd runs there and this machine may reach it`,
    );
  }
  if (offered.fingerprint !== pinned) {
    return make(
      'host.pin',
      name,
      'fail',
      `${name} offers the host key ${offered.fingerprint}, but ${pinned} is pinned: nothing was sent to it`,
      `if the host was rebuilt, check the new key on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then: rac trust ${name} --replace ${pinned}. Otherwise something else answers at ${ssh.host}:${ssh.port}: find out what before going on`,
    );
  }
  return make('host.pin', name, 'ok', `${name} offers the pinned host key ${pinned}`);
}

async function checkSshLogin(host: DoctorHost): Promise<{ finding: Finding; shell: RemoteShell | null; uid: number }> {
  const { name, ssh } = host.gateway;
  let shell: RemoteShell;
  try {
    shell = host.shell();
  } catch (err) {
    return {
      finding: make('host.ssh-login', name, 'fail', messageOf(err), 'fix the client key settings under ssh'),
      shell: null,
      uid: -1,
    };
  }
  try {
    const r = await shell.exec(['id', '-u'], { timeoutMs: Math.min(ssh.timeout_ms, 15_000) });
    const uid = Number(r.stdout.toString('utf8').trim());
    if (r.code !== 0 || !Number.isInteger(uid))
      return {
        finding: make(
          'host.ssh-login',
          name,
          'fail',
          `id -u failed (exit ${r.code}): ${r.stderr.trim()}`,
          'check the account’s shell',
        ),
        shell: null,
        uid: -1,
      };
    return { finding: make('host.ssh-login', name, 'ok', `logged in as ${ssh.user} (uid ${uid})`), shell, uid };
  } catch (err) {
    const code = codeOf(err);
    const unreachable = code === 'RAC_SSH_UNAVAILABLE' || code === 'RAC_SSH_TIMEOUT';
    return {
      finding: make(
        unreachable ? 'host.reachable' : 'host.ssh-login',
        name,
        'fail',
        messageOf(err),
        code === 'RAC_SSH_AUTH'
          ? `put the public half of ssh.private_key_file in ~${ssh.user}/.ssh/authorized_keys on ${name}`
          : `check the SSH login of ${ssh.user} on ${ssh.host}:${ssh.port}`,
      ),
      shell: null,
      uid: -1,
    };
  }
}

/**
 * How rac gains root there, as configured (ssh.become) and as the host has it: root itself, or
 * sudo with rules for exactly rac's installed programs.
 */
async function checkPrivilege(
  host: DoctorHost,
  shell: RemoteShell,
  uid: number,
  timeoutMs: number,
): Promise<Finding[]> {
  const { name, ssh } = host.gateway;
  if (ssh.become === 'none') {
    if (uid === 0) return [make('host.privilege', name, 'ok', `${ssh.user} is root`)];
    return [
      make(
        'host.privilege',
        name,
        'fail',
        `${ssh.user} (uid ${uid}) is not root and ssh.become is none: every change rac makes there would be refused`,
        `manage ${name} through sudo: set ssh.become: sudo for it, then run rac helpers export and install the programs and the sudoers file it writes on ${name} (README, "Prepare your servers"); or log in as root`,
      ),
    ];
  }
  const through = make(
    'host.privilege',
    name,
    'ok',
    uid === 0
      ? `${ssh.user} is root; ssh.become: sudo runs rac's installed programs through sudo all the same`
      : `${ssh.user} (uid ${uid}) gains root only through sudo, for rac's programs (ssh.become: sudo)`,
  );
  return [through, ...(await checkPrograms(host, shell, timeoutMs))];
}

/** Each program rac runs is installed as rac wrote it, root's alone, and sudo lets ssh.user run exactly that call. */
async function checkPrograms(host: DoctorHost, shell: RemoteShell, timeoutMs: number): Promise<Finding[]> {
  const { name, ssh } = host.gateway;
  const calls = host.rootCalls();
  const fix = `run rac helpers export, then on ${name} as root install its libexec/ files into ${ssh.helpers_dir} (root-owned, 0755) and its sudoers/${name} as /etc/sudoers.d/rac (visudo -cf first)`;
  const paths = [...new Set(calls.map((c) => c.path))];
  // The directory and every one above it: whoever may write one of them may swap the programs.
  const directories = [ssh.helpers_dir, ...ancestorsOf(ssh.helpers_dir)];
  const listed = await shell
    .exec(['sh', '-c', PATH_STAT_SCRIPT, 'rac-doctor', ...directories, ...paths], { timeoutMs })
    .catch((err: unknown) => ({ code: -1, stdout: Buffer.alloc(0), stderr: messageOf(err) }));
  if (listed.code !== 0)
    return [make('host.programs', name, 'fail', `cannot look at ${ssh.helpers_dir}: ${listed.stderr.trim()}`, fix)];
  const seen = new Map<string, PathStat>();
  for (const line of listed.stdout.toString('utf8').split('\n')) {
    const m = /^(\S+) (\S+) (\S+) (.+)$/.exec(line);
    if (m !== null) seen.set(m[4] as string, { owner: m[1] as string, mode: m[2] as string, sha256: m[3] as string });
  }
  const problems: string[] = [];
  const notRootsAlone = (path: string, stat: PathStat, why = '') =>
    `${path} is ${stat.owner} ${stat.mode}: ${why}it must be root's, writable by root alone`;
  for (const directory of directories) {
    const stat = seen.get(directory);
    if (stat === undefined) {
      if (directory === ssh.helpers_dir) problems.push(`${ssh.helpers_dir} does not exist`);
    } else if (!ownedByRootAlone(stat))
      problems.push(
        notRootsAlone(
          directory,
          stat,
          directory === ssh.helpers_dir ? '' : "whoever may write it may swap rac's programs; ",
        ),
      );
  }
  const digests = new Map(calls.map((c) => [c.path, c.sha256]));
  for (const path of paths) {
    const found = seen.get(path);
    // A directory where a program should be is no program.
    if (found === undefined || found.sha256 === '-') problems.push(`${path} is missing`);
    else if (found.sha256 !== digests.get(path))
      problems.push(`${path} differs from this rac's program (another version?)`);
    else if (!ownedByRootAlone(found)) problems.push(notRootsAlone(path, found));
  }
  if (problems.length > 0) return [make('host.programs', name, 'fail', problems.join('; '), fix)];
  const refused: string[] = [];
  for (const call of calls) {
    const r = await shell
      .exec(['sudo', '-n', '-l', '--', call.path, ...call.args], { timeoutMs })
      .catch((err: unknown) => ({ code: -1, stdout: Buffer.alloc(0), stderr: messageOf(err) }));
    if (r.code !== 0)
      refused.push(`${[call.name, ...call.args].join(' ')}${r.code === 127 ? ' (sudo is not installed)' : ''}`);
  }
  if (refused.length > 0)
    return [
      make(
        'host.programs',
        name,
        'fail',
        `sudo does not let ${ssh.user} run, without a password: ${refused.join('; ')}`,
        fix,
      ),
    ];
  return [
    make(
      'host.programs',
      name,
      'ok',
      `${ssh.user} may run rac's ${paths.length} programs in ${ssh.helpers_dir} through sudo, as installed by rac (${calls.length} calls)`,
    ),
  ];
}

interface PathStat {
  readonly owner: string;
  readonly mode: string;
  /** "-" for a directory. */
  readonly sha256: string;
}

/** For each argument that exists: "owner mode sha256 path", sha256 "-" for a directory. */
const PATH_STAT_SCRIPT = `for p do
  if [ -d "$p" ]; then
    printf '%s - %s\\n' "$(stat -c '%U %a' -- "$p")" "$p"
  elif [ -f "$p" ]; then
    sum=$(sha256sum -- "$p" 2>/dev/null) || continue
    printf '%s %s %s\\n' "$(stat -c '%U %a' -- "$p")" "\${sum%% *}" "$p"
  fi
done
exit 0`;

/** The directories above an absolute path, up to /. */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let at = path.lastIndexOf('/'); at >= 0; at = path.lastIndexOf('/', at - 1)) {
    out.push(at === 0 ? '/' : path.slice(0, at));
    if (at === 0) break;
  }
  return out;
}

/** Root's, and neither group nor others may write. */
function ownedByRootAlone(stat: PathStat): boolean {
  return stat.owner === 'root' && (Number.parseInt(stat.mode, 8) & 0o022) === 0;
}
