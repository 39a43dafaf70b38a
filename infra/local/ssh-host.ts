/**
 * A real OpenSSH server (the machine's /usr/sbin/sshd) inside a network namespace of ours, as the
 * "host" of a local gateway or bastion: its own host key, root login only with an admin key
 * generated for it, listening on <address>:22.
 *
 * The sshd runs under `unshare --mount --propagation private --pid --fork --kill-child --mount-proc`:
 *  - a private mount namespace: tmpfs on /run (sshd needs /run/sshd, sudo /run/sudo) and on
 *    /var/log (session records — wtmp/lastlog/btmp, and useradd's lastlog/faillog updates — never
 *    reach the machine's files); with `privateEtc` also a private copy of /etc and a /home of its
 *    own, so accounts created on this host (useradd/newusers as root) never touch the machine;
 *    that /etc and /home hold rac's management account (manager.ts), and /usr/local/libexec/rac
 *    shows a directory of the host's dataDir (rac's programs) in the machine's /usr/local;
 *  - a private PID namespace (sshd is its PID 1): `pkill -u <user>` and `ps` on this host see only
 *    this host's processes (a uid of a bastion account may be a real uid of the machine), and
 *    stopping the host ends every session with it.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HELPERS_DIR } from '../../src/adapters/host-programs/index.ts';
import { addManagerAccount, MANAGER_USER, type ManagerAccount } from './manager.ts';
import {
  type ExecOptions,
  type ExecResult,
  exec,
  execOk,
  inNamespace,
  isAlive,
  killProcess,
  spawnIn,
} from './netns.ts';

export const SSHD = '/usr/sbin/sshd';
export const SSH = '/usr/bin/ssh';
const READY_TIMEOUT_MS = 10_000;
/** rac's programs: /usr/local stays the machine's, one directory more (see START_SCRIPT). */
const USR_LOCAL = '/usr/local';
const HELPERS_IN_USR_LOCAL = relative(USR_LOCAL, DEFAULT_HELPERS_DIR);
if (HELPERS_IN_USR_LOCAL.startsWith('..')) throw new Error(`${DEFAULT_HELPERS_DIR} is not under ${USR_LOCAL}`);

export interface SshHostOptions {
  /** Network namespace (of ours) to run in. */
  namespace: string;
  /** IPv4 address inside the namespace to listen on (port 22); must be reachable from the root namespace. */
  address: string;
  /** Created (0700) if missing; keys, config, log (and etc/, home/) go here. The caller removes it. */
  dataDir: string;
  /**
   * Private copy of /etc (dataDir/etc) and own /home (dataDir/home) for this sshd and its sessions,
   * with rac's management account, and rac's programs at /usr/local/libexec/rac.
   */
  privateEtc?: boolean;
  /** Only these accounts may log in (sshd AllowUsers). Default: root without privateEtc, else any. */
  allowUsers?: readonly string[];
  readyTimeoutMs?: number;
  /**
   * Where the readiness probe (ssh-keyscan) runs: default the root namespace. A host reachable only
   * through another host of ours (a target behind a bastion) is probed from that host's namespace.
   */
  probeNamespace?: string;
}

/** What an SSH client needs to reach a host with pinned host key. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKeyFile: string;
  /** known_hosts file holding exactly this host's key. */
  knownHostsFile: string;
}

export interface SshHost extends SshTarget {
  port: 22;
  user: 'root';
  /** OpenSSH private key (ed25519, no passphrase) of the admin key. */
  privateKey: string;
  /** The admin key's public line. */
  publicKey: string;
  /** known_hosts line: `<address> ssh-ed25519 AAAA…` */
  hostKeyLine: string;
  /** `SHA256:…` of the host key. */
  hostKeyFingerprint: string;
  /** With privateEtc: the directory bind-mounted over /etc for this host. */
  etcDir?: string;
  /** With privateEtc: the directory bind-mounted over /home for this host. */
  homeDir?: string;
  /** With privateEtc: rac's management account (logged in with the same admin key). */
  manager?: ManagerAccount;
  /** Pid (in the root PID namespace) of the `unshare` process holding the host's namespaces. */
  pid: number;
  logFile: string;
  configFile: string;
  /** Ends sshd and every session (the PID namespace goes with it). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs as `sh -c SCRIPT sh <dataDir> <config> <privateEtc 0|1>` in the new mount + PID namespace.
 * rac's programs: over the machine's /usr/local a read-only overlay whose top layer
 * (dataDir/usr-local) holds only the empty directory libexec/rac, and dataDir/rac-programs
 * bind-mounted on that, so re-installed programs show at once. The machine's /usr/local is not
 * written to and stays visible (its tools included).
 */
const START_SCRIPT = [
  'set -e',
  'mount -t tmpfs -o mode=755,size=16m tmpfs /run',
  'mkdir -m 755 /run/sshd',
  'mount -t tmpfs -o mode=755,size=64m tmpfs /var/log',
  'if [ "$3" = 1 ]; then',
  '  mount --bind "$1/etc" /etc',
  '  mount --bind "$1/home" /home',
  `  mount -t overlay overlay -o "lowerdir=$1/usr-local:${USR_LOCAL}" ${USR_LOCAL}`,
  `  mount --bind "$1/rac-programs" ${DEFAULT_HELPERS_DIR}`,
  'fi',
  `exec ${SSHD} -D -e -f "$2"`,
].join('\n');

/** `SHA256:<base64 without padding>` of an OpenSSH public key line's blob. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (blob === undefined) throw new Error('not an OpenSSH public key line');
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** POSIX shell single-quoting of one word. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** argv of the system ssh client for `target`, host key pinned, no config files, batch mode. */
export function sshArgv(target: SshTarget, options: readonly string[] = []): string[] {
  return [
    SSH,
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${target.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'UpdateHostKeys=no',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    '-i',
    target.privateKeyFile,
    '-p',
    String(target.port),
    ...options,
    `${target.user}@${target.host}`,
  ];
}

/**
 * Runs a command on `target` with the system ssh client from the root namespace. An array is one
 * argv (each word shell-quoted for the remote shell); a string is given to the remote shell as is.
 */
export async function sshRun(
  target: SshTarget,
  command: readonly string[] | string,
  options: ExecOptions = {},
): Promise<ExecResult> {
  const remote = typeof command === 'string' ? command : command.map(shellQuote).join(' ');
  return await exec([...sshArgv(target), '--', remote], { timeoutMs: 30_000, ...options });
}

async function keygen(file: string, comment: string): Promise<void> {
  await execOk(['/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
    timeoutMs: 10_000,
  });
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
  } catch {
    return '(no log)';
  }
}

export async function startSshHost(options: SshHostOptions): Promise<SshHost> {
  const { namespace, address, dataDir } = options;
  const privateEtc = options.privateEtc ?? false;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`address must be an IPv4 address, got ${address}`);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);

  const hostKeyFile = join(dataDir, 'ssh_host_ed25519_key');
  const privateKeyFile = join(dataDir, 'admin_ed25519');
  const rootKeysFile = join(dataDir, 'root_authorized_keys');
  const knownHostsFile = join(dataDir, 'known_hosts');
  const configFile = join(dataDir, 'sshd_config');
  const logFile = join(dataDir, 'sshd.log');
  const etcDir = join(dataDir, 'etc');
  const homeDir = join(dataDir, 'home');
  const programsDir = join(dataDir, 'rac-programs');
  await Promise.all([keygen(hostKeyFile, `host-${namespace}`), keygen(privateKeyFile, `rac-admin@${namespace}`)]);

  if (privateEtc) {
    if (/[,:]/.test(dataDir)) throw new Error(`dataDir must not hold "," or ":" (an overlay's lowerdir): ${dataDir}`);
    await rm(etcDir, { recursive: true, force: true });
    await execOk(['/usr/bin/cp', '-a', '/etc', etcDir], { timeoutMs: 30_000 });
    // The machine's own host keys have no business in a copy.
    await execOk(['/usr/bin/find', join(etcDir, 'ssh'), '-maxdepth', '1', '-name', 'ssh_host_*', '-delete'], {
      timeoutMs: 10_000,
    });
    await mkdir(homeDir, { mode: 0o755 });
    await mkdir(join(dataDir, 'usr-local', HELPERS_IN_USR_LOCAL), { recursive: true, mode: 0o755 });
    await mkdir(programsDir, { mode: 0o755 });
  }

  const [privateKey, publicKey, hostPublic] = await Promise.all([
    readFile(privateKeyFile, 'utf8'),
    readFile(`${privateKeyFile}.pub`, 'utf8'),
    readFile(`${hostKeyFile}.pub`, 'utf8'),
  ]);
  const [keyType, keyBlob] = hostPublic.trim().split(/\s+/);
  if (keyType === undefined || keyBlob === undefined) throw new Error(`bad host key ${hostKeyFile}.pub`);
  const hostKeyLine = `${address} ${keyType} ${keyBlob}`;
  await writeFile(knownHostsFile, `${hostKeyLine}\n`, { mode: 0o600 });
  await writeFile(rootKeysFile, publicKey, { mode: 0o600 });
  const managerId = privateEtc ? await addManagerAccount(etcDir, homeDir, publicKey) : undefined;
  // Without a private /etc, only root: the machine's own users have no business here.
  const allowUsers = options.allowUsers ?? (privateEtc ? [] : ['root']);

  const config = [
    '# sshd of a local test host (infra/local/ssh-host.ts)',
    'Port 22',
    `ListenAddress ${address}:22`,
    `HostKey ${hostKeyFile}`,
    'PidFile none',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'UsePAM no',
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 64',
    'MaxStartups 64:30:128',
    // root's ~/.bashrc on these machines runs pyenv (120-150 ms per command); with SHLVL set bash skips it
    'SetEnv SHLVL=1',
    'AllowStreamLocalForwarding yes',
    'Subsystem sftp internal-sftp',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'LogLevel INFO',
    ...(allowUsers.length > 0 ? [`AllowUsers ${allowUsers.join(' ')}`] : []),
    'Match User root',
    `  AuthorizedKeysFile ${rootKeysFile}`,
    '',
  ].join('\n');
  await writeFile(configFile, config, { mode: 0o600 });

  const log = await open(logFile, 'a', 0o600);
  let child: ReturnType<typeof spawnIn>;
  try {
    child = spawnIn(
      namespace,
      [
        '/usr/bin/unshare',
        '--mount',
        '--propagation',
        'private',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '/bin/sh',
        '-c',
        START_SCRIPT,
        'sh',
        dataDir,
        configFile,
        privateEtc ? '1' : '0',
      ],
      { match: configFile, pidfile: join(dataDir, 'sshd.outer.pid'), stdio: ['ignore', log.fd, log.fd] },
    );
  } finally {
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start sshd in ${namespace}`);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // SIGTERM to sshd (PID 1 of the host's PID namespace) ends the namespace and every session;
      // `unshare` itself ignores SIGTERM while waiting, so the fallback is SIGKILL to it
      // (--kill-child passes that on).
      const inner = await childrenOf(pid);
      for (const c of inner) await killProcess(c, configFile, { graceMs: 2_000 });
      await killProcess(pid, configFile, { signal: 'SIGKILL', graceMs: 3_000 });
      const deadline = Date.now() + 5_000;
      while (!exited && isAlive(pid) && Date.now() < deadline) await sleep(10);
    })();
    return stopping;
  };

  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
    for (let attempt = 0; ; attempt++) {
      if (exited) throw new Error(`sshd in ${namespace} exited during start; log:\n${await tail(logFile)}`);
      const scan = await exec(
        inNamespace(options.probeNamespace ?? 'root', [
          '/usr/bin/ssh-keyscan',
          '-T',
          '1',
          '-t',
          'ed25519',
          '-p',
          '22',
          address,
        ]),
        { timeoutMs: 3_000 },
      );
      const seen = scan.stdout.split('\n').find((l) => l.includes(' ssh-ed25519 '));
      if (seen !== undefined) {
        if (seen.includes(keyBlob)) break;
        throw new Error(`another ssh server answers on ${address}:22 (host key differs)`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `sshd in ${namespace} not ready on ${address}:22 after ${attempt + 1} probes; log:\n${await tail(logFile)}`,
        );
      }
      await sleep(30);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const host: SshHost = {
    host: address,
    port: 22,
    user: 'root',
    privateKeyFile,
    knownHostsFile,
    privateKey,
    publicKey: publicKey.trim(),
    hostKeyLine,
    hostKeyFingerprint: fingerprintOf(hostPublic),
    pid,
    logFile,
    configFile,
    stop,
  };
  if (managerId !== undefined) {
    host.etcDir = etcDir;
    host.homeDir = homeDir;
    host.manager = {
      host: address,
      port: 22,
      user: MANAGER_USER,
      privateKeyFile,
      knownHostsFile,
      uid: managerId,
      gid: managerId,
      programsDir,
      sudoersFile: join(etcDir, 'sudoers.d', MANAGER_USER),
    };
  }
  return host;
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isSafeInteger(n) && n > 1);
  } catch {
    return [];
  }
}
