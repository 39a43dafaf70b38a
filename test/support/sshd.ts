import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LocalSshd {
  readonly host: string;
  readonly port: number;
  /** `ssh-ed25519 AAAA…` of the server's host key (no comment). */
  readonly hostKeyLine: string;
  /** `SHA256:…` of the host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** Path of the client's private key (its `.pub` is in the server's authorized_keys). */
  readonly clientKeyFile: string;
  readonly clientPrivateKey: string;
  /** The user to log in as (the user running the tests; sshd runs as root). */
  readonly user: string;
  /** A scratch directory the test may use (removed by stop()). */
  readonly dir: string;
  /** Everything sshd logged so far (`-e`: stderr), e.g. "Accepted publickey for …" per connection. */
  log(): string;
  /**
   * Kills every per-connection sshd process (not the listener): drops all client connections.
   * Waits until they are gone unless `wait: false` (SIGKILL, returns at once: clients have not
   * noticed the drop yet).
   */
  killSessions(options?: { wait?: boolean }): Promise<number>;
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  /** Extra sshd_config lines, appended. */
  extraConfig?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function mountNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/** Pids living in the given mount namespace: the private sshd and everything it forked. */
function pidsInNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (mountNamespaceOf(pid) === ns) pids.push(pid);
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A private OpenSSH server on 127.0.0.1 (notes: servers.md, OpenSSH): fresh host and client
 * ed25519 keys, its own config, run in a private mount namespace whose /run is a tmpfs (sshd as
 * root wants /run/sshd; the host's /run is never touched). Ready when ssh-keyscan gets the key.
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<LocalSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'rac-sshd-'));
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const clientKeyFile = join(dir, 'client_ed25519');
  await Promise.all([
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rac-test-host', '-f', hostKey]),
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rac-test-client', '-f', clientKeyFile]),
  ]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKeyFile}.pub`), { mode: 0o600 });
  const [type, blob] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const hostKeyLine = `${type} ${blob}`;
  const fingerprint = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`])).stdout.split(/\s+/)[1];
  if (fingerprint === undefined) throw new Error('ssh-keygen -l printed no fingerprint');

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'MaxSessions 64',
      'MaxStartups 64:30:128',
      // root's ~/.bashrc costs 120–150 ms per command; with SHLVL set bash does not source it.
      'SetEnv SHLVL=1',
      'Subsystem sftp internal-sftp',
      options.extraConfig ?? '',
      '',
    ].join('\n'),
  );

  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/sshd && exec /usr/sbin/sshd -D -e -f '${config}'`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log += chunk;
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start unshare/sshd');

  let namespace: string | null = null;
  const stop = async () => {
    const ns = namespace ?? mountNamespaceOf(pid);
    signal(pid, 'SIGTERM');
    if (ns !== null && ns !== mountNamespaceOf(process.pid)) {
      for (const p of pidsInNamespace(ns)) signal(p, 'SIGTERM');
    }
    await Promise.race([exit, sleep(3_000)]);
    if (!exited) signal(pid, 'SIGKILL');
    if (ns !== null && ns !== mountNamespaceOf(process.pid)) {
      for (const p of pidsInNamespace(ns)) signal(p, 'SIGKILL');
    }
    await Promise.race([exit, sleep(1_000)]);
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when ssh-keyscan gets the host key.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd exited during start:\n${log}`);
    }
    try {
      const { stdout } = await run('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1'], {
        timeout: 2_000,
      });
      if (stdout.includes(blob ?? '\0')) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`sshd on 127.0.0.1:${port} not ready after 10 s:\n${log}`);
    }
    await sleep(50);
  }
  namespace = mountNamespaceOf(pid);
  if (namespace === mountNamespaceOf(process.pid)) {
    await stop();
    throw new Error('sshd is not in a private mount namespace');
  }

  return {
    host: '127.0.0.1',
    port,
    hostKeyLine,
    hostKeyFingerprint: fingerprint,
    clientKeyFile,
    clientPrivateKey: readFileSync(clientKeyFile, 'utf8'),
    user: userInfo().username,
    dir,
    log: () => log,
    async killSessions(killOptions = {}) {
      const ns = namespace;
      if (ns === null) return 0;
      const sessions = pidsInNamespace(ns).filter((p) => p !== pid);
      const wait = killOptions.wait ?? true;
      for (const p of sessions) signal(p, wait ? 'SIGTERM' : 'SIGKILL');
      if (!wait) return sessions.length;
      // Wait until they are gone, so the caller's next step sees the drop.
      const until = Date.now() + 3_000;
      while (sessions.some((p) => mountNamespaceOf(p) === ns) && Date.now() < until) await sleep(10);
      return sessions.length;
    },
    stop,
  };
}
