/**
 * Real OpenVPN clients for `rac swarm`: one `openvpn --client --dev null` process per client (no
 * tun device, so no root), optionally inside a network namespace (`ip netns exec`, root).
 *
 * Cleanup is this module's job, whatever ends the run:
 * - credentials live in 0600 files in one private 0700 directory (tmpfs when /dev/shm is one),
 *   never in argv or the environment; each file goes when its client ends, the directory on close;
 * - `close()` sends SIGTERM to every client (explicit-exit-notify tells the server at once), then
 *   SIGKILL to any still alive after a grace period, and waits for every exit;
 * - a process 'exit' hook SIGKILLs whatever is still alive and removes the directory, for exits
 *   that skip close() (a second Ctrl-C);
 * - every client is started through `setpriv --pdeathsig KILL`, so the kernel kills it if rac
 *   itself dies without any of the above (SIGKILL, a crash); the credentials directory such a run
 *   leaves is removed by the next swarm (its owner pid is gone).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SwarmClient, SwarmClientEvent, SwarmClientSpec, SwarmLauncher } from '../../services/swarm.ts';
import { processAlive } from '../process-alive.ts';

const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TAIL_LINES = 8;
const STOP_GRACE_MS = 4_000;

export interface OpenVpnSwarmOptions {
  /** PEM file of the CA that signed the gateways' server certificates. */
  caFile: string;
  /** Run every client in this network namespace (`ip netns exec`, needs root). */
  netns?: string;
  /** The openvpn binary (default: `openvpn` on PATH). */
  openvpn?: string;
  /** Extra client options (benchmarks). */
  extraArgs?: readonly string[];
}

/** The directory for credential files: tmpfs when the machine has one at /dev/shm. */
function scratchBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

const DIR_PREFIX = 'rac-swarm-';
const OWNER_FILE = 'owner.pid';

/** Removes credentials directories of swarms that died without cleaning up (SIGKILL). */
async function sweepStaleDirs(base: string): Promise<void> {
  const entries = await readdir(base).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(base, entry);
    const owner = Number(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => ''));
    if (Number.isSafeInteger(owner) && owner > 0 && processAlive(owner)) continue;
    // No owner file yet: maybe a swarm starting right now; only an old one is stale.
    if (owner === 0) {
      const age = Date.now() - ((await stat(dir).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age < 60_000) continue;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

export async function createOpenVpnSwarmLauncher(options: OpenVpnSwarmOptions): Promise<SwarmLauncher> {
  if (options.netns !== undefined && !NETNS_RE.test(options.netns)) {
    throw new Error(`invalid network namespace name ${JSON.stringify(options.netns)}`);
  }
  const base = scratchBase();
  await sweepStaleDirs(base);
  const dir = await mkdtemp(join(base, DIR_PREFIX)); // mode 0700
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
  const live = new Map<number, ChildProcess>();
  const exits = new Set<Promise<void>>();
  const onProcessExit = (): void => {
    for (const child of live.values()) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onProcessExit);
  let closed = false;

  const launch = async (spec: SwarmClientSpec, onEvent: (event: SwarmClientEvent) => void): Promise<SwarmClient> => {
    if (closed) throw new Error('the swarm is closed');
    if (/[\r\n\0]/.test(spec.username) || /[\r\n\0]/.test(spec.password)) {
      throw new Error('username and password must not contain line breaks or NUL');
    }
    const authFile = join(dir, `client-${spec.id}.auth`);
    await writeFile(authFile, `${spec.username}\n${spec.password}\n`, { mode: 0o600, flag: 'wx' });
    const openvpnArgv = [
      options.openvpn ?? 'openvpn',
      '--client',
      '--dev',
      'null',
      '--ifconfig-noexec',
      '--route-noexec',
      '--nobind',
      '--remote',
      spec.host,
      String(spec.port),
      spec.proto,
      '--ca',
      options.caFile,
      '--remote-cert-tls',
      'server',
      '--auth-user-pass',
      authFile,
      // A refusal is final for a swarm client (TEMP refusals still retry after their backoff).
      '--auth-retry',
      'none',
      // Capped retry backoff: 1 s, doubling after 5 failures, at most 5 s (default up to 300 s).
      '--connect-retry',
      '1',
      '5',
      '--explicit-exit-notify',
      '1',
      '--verb',
      '3',
      '--suppress-timestamps',
      ...(options.extraArgs ?? []),
    ];
    const withDeathSignal = ['setpriv', '--pdeathsig', 'KILL', '--', ...openvpnArgv];
    const argv =
      options.netns === undefined ? withDeathSignal : ['ip', 'netns', 'exec', options.netns, ...withDeathSignal];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    let connected = false;
    const onData = (chunk: Buffer): void => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > 4096) partial = '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        if (line.includes('Initialization Sequence Completed')) {
          connected = true;
          onEvent({ type: 'connected' });
        } else if (line.includes('AUTH_FAILED')) {
          // TEMP = "come back later": the client retries by itself after the server's backoff.
          onEvent(line.includes('TEMP') ? { type: 'retrying', reason: 'temporary refusal' } : { type: 'auth-failed' });
        } else if (connected && /SIGUSR1\[|Restart pause|Inactivity timeout/.test(line)) {
          connected = false;
          onEvent({ type: 'dropped' });
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const exited = new Promise<void>((resolveExit) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (child.pid !== undefined) live.delete(child.pid);
        void rm(authFile, { force: true });
        onEvent({ type: 'exited', code, signal, tail: tail.join('\n') });
        resolveExit();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        tail.push(err.message);
        done(null, null);
      });
    });
    exits.add(exited);
    void exited.then(() => exits.delete(exited));
    if (child.pid !== undefined) live.set(child.pid, child);
    return {
      pid: child.pid,
      stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const child of live.values()) child.kill('SIGTERM');
    const grace = setTimeout(() => {
      for (const child of live.values()) child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all([...exits]);
    clearTimeout(grace);
    await rm(dir, { recursive: true, force: true });
    process.off('exit', onProcessExit);
  };

  return { launch, close, liveCount: () => live.size };
}
