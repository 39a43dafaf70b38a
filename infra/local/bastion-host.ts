/**
 * A real SSH bastion host for tests, demos and benchmarks: a network namespace linked to the root
 * namespace (address 10.231.S.(4k+2), k = 16 + index) and an sshd with a PRIVATE /etc and /home
 * (ssh-host.ts, privateEtc): accounts that rac creates through the root session (useradd,
 * newusers, usermod, userdel) live only in dataDir/etc and dataDir/home, never on the machine.
 *
 * Note for account creation with `UsePAM no`: sshd refuses every login of an account whose
 * shadow password starts with "!" ("User x not allowed because account is locked"), and that is
 * what `useradd` writes by default. Key-only accounts need a non-locking value such as `*`
 * (`useradd -p '*' …`, `usermod -p '*' …`, or `*` in the password field of `newusers`).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import {
  assertRunId,
  createNamespace,
  deleteNamespace,
  type ExecResult,
  isAlive,
  killProcess,
  linkNamespaces,
  makeDataDir,
  namespaceName,
  registerPath,
  rootLink,
  trackProcess,
  unregisterPath,
  untrackProcess,
} from './netns.ts';
import { type SshHost, type SshTarget, sshArgv, sshRun, startSshHost } from './ssh-host.ts';

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;
const HOLD_READY = '__rac_hold_ready__';

export interface BastionOptions {
  name: string;
  runId: string;
  /** 1..9: picks the namespace (rac-<runId>-bh<index>) and the root link. */
  index: number;
  /** Default a fresh directory under /dev/shm (tmpfs) or os.tmpdir() (removed by stop()). */
  dataDir?: string;
}

export interface Bastion {
  name: string;
  namespace: string;
  /** The bastion's address in the root namespace (sshd on port 22). */
  address: string;
  /** Root access with the admin key; `ssh.knownHostsFile` pins the host key. */
  ssh: SshHost;
  /** The bastion's /etc (a private copy of the machine's, bind-mounted for its sshd and sessions). */
  etcDir: string;
  /** The bastion's /home. */
  homeDir: string;
  dataDir: string;
  /** Ends sshd and every session, deletes the namespace and dataDir. Idempotent. */
  stop(): Promise<void>;
}

export async function startBastion(options: BastionOptions): Promise<Bastion> {
  const { name, runId, index } = options;
  if (!NAME_RE.test(name)) throw new Error(`invalid bastion name ${JSON.stringify(name)}`);
  if (!Number.isInteger(index) || index < 1 || index > 9) throw new Error(`bastion index must be 1..9, got ${index}`);
  assertRunId(runId);
  const namespace = namespaceName(runId, `bh${index}`);
  const dataDir = options.dataDir ?? (await makeDataDir('rac-bh-'));
  registerPath(dataDir);

  let ssh: SshHost | undefined;
  let namespaceCreated = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await ssh?.stop().catch(() => {});
      if (namespaceCreated) await deleteNamespace(namespace);
      await rm(dataDir, { recursive: true, force: true });
      unregisterPath(dataDir);
    })();
    return stopping;
  };

  try {
    await createNamespace(namespace);
    namespaceCreated = true;
    const root = await rootLink(runId, 16 + index);
    await linkNamespaces('root', root.rootCidr, namespace, root.nsCidr);
    ssh = await startSshHost({ namespace, address: root.nsAddress, dataDir, privateEtc: true });
    const { etcDir, homeDir } = ssh;
    if (etcDir === undefined || homeDir === undefined) throw new Error('ssh host without a private /etc');
    return { name, namespace, address: root.nsAddress, ssh, etcDir, homeDir, dataDir, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Logging in as a person

export interface SshLoginOptions {
  /** The bastion (its address and pinned host key are used). */
  bastion: Pick<Bastion, 'address' | 'ssh'>;
  user: string;
  privateKeyFile: string;
  /** Remote argv (each word shell-quoted); default `true`. Ignored with `hold`. */
  command?: readonly string[];
  /** Keep a session open (remote `sleep`) instead of running a command. */
  hold?: boolean;
  /** Command: kill after this long (default 30 s). Hold: how long the remote sleep lasts, at most (default 600 s). */
  timeoutMs?: number;
}

export interface HeldSession {
  process: ChildProcess;
  pid: number;
  /** stdout/stderr of the ssh client so far. */
  readonly output: string;
  readonly exited: boolean;
  /** Resolves true when the ssh client has exited within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<boolean>;
  /** Ends the local ssh client (the remote session then ends too). Idempotent. */
  stop(): Promise<void>;
}

function targetFor(options: SshLoginOptions): SshTarget {
  return {
    host: options.bastion.address,
    port: options.bastion.ssh.port,
    user: options.user,
    privateKeyFile: options.privateKeyFile,
    knownHostsFile: options.bastion.ssh.knownHostsFile,
  };
}

/**
 * Logs in to the bastion as `user` with the real ssh client from the root namespace (host key
 * pinned, BatchMode, only the given key). Without `hold`: runs `command` and resolves with its
 * exit code and output (255 = ssh itself failed, e.g. refused). With `hold`: resolves once the
 * remote session is up (it runs `sleep`), with a handle to end it or wait for it to be ended.
 */
export async function sshLogin(options: SshLoginOptions & { hold: true }): Promise<HeldSession>;
export async function sshLogin(options: SshLoginOptions & { hold?: false }): Promise<ExecResult>;
export async function sshLogin(options: SshLoginOptions): Promise<ExecResult | HeldSession> {
  const target = targetFor(options);
  if (options.hold !== true) {
    return await sshRun(target, options.command ?? ['true'], { timeoutMs: options.timeoutMs ?? 30_000 });
  }

  const seconds = Math.max(1, Math.min(600, Math.ceil((options.timeoutMs ?? 600_000) / 1000)));
  const argv = [...sshArgv(target), '--', `echo ${HOLD_READY}; exec sleep ${seconds}`];
  const [command, ...args] = argv;
  const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('cannot start ssh');
  // Tracked for cleanupAll; the match is this login's user@host, which is in the ssh argv.
  const match = `${target.user}@${target.host}`;
  trackProcess({ pid, match });
  let output = '';
  let exited = false;
  const exitWaiters = new Set<() => void>();
  const onData = (b: Buffer): void => {
    if (output.length < 64 * 1024) output += b.toString('utf8');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.once('exit', () => {
    exited = true;
    untrackProcess(pid);
    for (const w of [...exitWaiters]) w();
  });

  const waitForExit = async (ms: number): Promise<boolean> => {
    if (exited) return true;
    return await new Promise<boolean>((resolveWait) => {
      const onExit = (): void => {
        clearTimeout(timer);
        resolveWait(true);
      };
      const timer = setTimeout(() => {
        exitWaiters.delete(onExit);
        resolveWait(exited);
      }, ms);
      exitWaiters.add(onExit);
    });
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) await killProcess(pid, match, { graceMs: 2_000 });
      await waitForExit(3_000);
    })();
    return stopping;
  };

  // Ready when the remote shell has printed the marker; refused/failed when ssh exits first.
  const ready = await new Promise<boolean>((resolveReady) => {
    const check = (): void => {
      if (output.includes(HOLD_READY)) done(true);
    };
    const onExit = (): void => done(false);
    const done = (value: boolean): void => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      exitWaiters.delete(onExit);
      resolveReady(value);
    };
    const timer = setTimeout(() => done(false), 15_000);
    child.stdout.on('data', check);
    exitWaiters.add(onExit);
    check();
  });
  if (!ready) {
    await stop();
    throw new Error(`ssh ${match}: no session (${exited ? 'ssh exited' : 'timed out'}): ${output.trim()}`);
  }
  return {
    process: child,
    pid,
    get output() {
      return output;
    },
    get exited() {
      return exited || !isAlive(pid);
    },
    waitForExit,
    stop,
  };
}
