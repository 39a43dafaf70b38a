/**
 * The client side of the local VPN stack: one "clients" network namespace per run, linked to each
 * gateway's namespace by its own veth pair (10.232.<index>.2/30 here, .1/30 on the gateway), and
 * real `openvpn --client` processes in it (no tun: `--dev null --ifconfig-noexec --route-noexec`).
 *
 * Credentials go to a 0600 file in a 0700 directory on /dev/shm when it is a tmpfs (never argv); every client is tracked by
 * netns.ts, so `cleanupAll()` (or deleting the clients namespace) ends any that are left.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createNamespace,
  deleteNamespace,
  isAlive,
  killProcess,
  namespaceName,
  registerPath,
  scratchRoot,
  spawnIn,
  unregisterPath,
} from './netns.ts';

export const OPENVPN = '/usr/sbin/openvpn';
const LOG_LIMIT = 512 * 1024;
const DEFAULT_TIMEOUT_MS = 20_000;

/** What a client needs of a gateway (an OpenVpnGateway has all of it). */
export interface VpnClientTarget {
  name: string;
  /** The run's clients namespace, linked to the gateway. */
  clientsNamespace: string;
  /** The server's address as clients see it. */
  vpnAddress: string;
  vpnPort: number;
  /** PEM of the CA that signed the server certificate. */
  caFile: string;
  /** CN of the server certificate, checked with --verify-x509-name when given. */
  serverName?: string;
}

export type VpnOutcome = 'connected' | 'auth-failed' | 'timeout' | 'exited';

export interface VpnClient {
  outcome: VpnOutcome;
  username: string;
  pid: number;
  /** Everything the client printed so far (capped at 512 KiB). */
  readonly log: string;
  readonly exited: boolean;
  /** Exit code once exited (null when killed by a signal or still running). */
  readonly exitCode: number | null;
  /** Resolves true when the process has exited within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<boolean>;
  /** Resolves true once the log (from now on, or from the start with `fromStart`) has a line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs: number, fromStart?: boolean): Promise<boolean>;
  /** SIGTERM (SIGKILL after 3 s), wait for the exit, remove the credentials file. Idempotent. */
  stop(): Promise<void>;
}

export interface ConnectVpnClientOptions {
  gateway: VpnClientTarget;
  username: string;
  password: string;
  /** Until 'connected', 'auth-failed' or 'exited'; then 'timeout' (the client keeps running: stop() it). Default 20 s. */
  timeoutMs?: number;
  /** Extra openvpn options (tests). */
  extraArgs?: readonly string[];
  /** Connect with this client profile (.ovpn, e.g. downloaded from the portal) instead of the gateway's settings. */
  profileFile?: string;
}

function serverArgs(gateway: VpnClientTarget): string[] {
  return [
    '--nobind',
    '--remote',
    gateway.vpnAddress,
    String(gateway.vpnPort),
    'udp',
    '--ca',
    gateway.caFile,
    '--remote-cert-tls',
    'server',
    ...(gateway.serverName === undefined ? [] : ['--verify-x509-name', gateway.serverName, 'name']),
  ];
}

// ---------------------------------------------------------------------------------------------
// The clients namespace of a run

const clientsNamespaces = new Map<string, Promise<string>>();
const credentialDirs = new Map<string, Promise<string>>();
let clientSeq = 0;

export function clientsNamespaceName(runId: string): string {
  return namespaceName(runId, 'cl');
}

/** Creates the run's clients namespace on first use; the same name afterwards. */
export async function ensureClientsNamespace(runId: string): Promise<string> {
  let pending = clientsNamespaces.get(runId);
  if (pending === undefined) {
    const name = clientsNamespaceName(runId);
    pending = createNamespace(name).then(() => name);
    clientsNamespaces.set(runId, pending);
    pending.catch(() => clientsNamespaces.delete(runId));
  }
  return await pending;
}

/** Deletes the run's clients namespace (every client in it ends) and its credentials directory. */
export async function deleteClientsNamespace(runId: string): Promise<void> {
  const pending = clientsNamespaces.get(runId);
  clientsNamespaces.delete(runId);
  if (pending !== undefined) await deleteNamespace(await pending.catch(() => clientsNamespaceName(runId)));
  const dir = credentialDirs.get(runId);
  credentialDirs.delete(runId);
  if (dir !== undefined) {
    const path = await dir.catch(() => undefined);
    if (path !== undefined) {
      await rm(path, { recursive: true, force: true });
      unregisterPath(path);
    }
  }
}

/** Addresses of the gateway ↔ clients link of gateway `index` (inside our namespaces only). */
export function clientsLink(index: number): {
  gatewayCidr: string;
  clientsCidr: string;
  gatewayAddress: string;
  clientsAddress: string;
} {
  if (!Number.isInteger(index) || index < 1 || index > 250) throw new Error(`gateway index ${index} out of range`);
  return {
    gatewayCidr: `10.232.${index}.1/30`,
    clientsCidr: `10.232.${index}.2/30`,
    gatewayAddress: `10.232.${index}.1`,
    clientsAddress: `10.232.${index}.2`,
  };
}

function runIdOf(clientsNamespace: string): string {
  const m = /^rac-([a-z0-9]+)-cl$/.exec(clientsNamespace);
  if (!m?.[1]) throw new Error(`not a clients namespace: ${clientsNamespace}`);
  return m[1];
}

async function credentialsDir(runId: string): Promise<string> {
  let pending = credentialDirs.get(runId);
  if (pending === undefined) {
    const dir = join(scratchRoot(), `rac-vpnc-${runId}`);
    pending = (async () => {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o700 });
      registerPath(dir);
      return dir;
    })();
    credentialDirs.set(runId, pending);
  }
  return await pending;
}

// ---------------------------------------------------------------------------------------------
// Clients

/**
 * Starts a real OpenVPN client in the gateway's clients namespace and resolves once the outcome
 * is known: 'connected' ("Initialization Sequence Completed"), 'auth-failed' (AUTH_FAILED; the
 * client exits by itself: --auth-retry none), 'exited' (ended for another reason) or 'timeout'.
 */
export async function connectVpnClient(options: ConnectVpnClientOptions): Promise<VpnClient> {
  const { gateway, username, password } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (/[\r\n\0]/.test(username) || /[\r\n\0]/.test(password)) {
    throw new Error('username and password must not contain line breaks or NUL');
  }
  const dir = await credentialsDir(runIdOf(gateway.clientsNamespace));
  clientSeq += 1;
  const authFile = join(dir, `client-${clientSeq}.auth`);
  await writeFile(authFile, `${username}\n${password}\n`, { mode: 0o600 });

  // With a profile, everything about the server (remote, CA, checks) comes from the profile as a
  // person would get it; the options after it only keep the client off the test host's routes.
  const fromProfile = options.profileFile === undefined ? null : ['--config', options.profileFile];
  const argv = [
    OPENVPN,
    ...(fromProfile ?? ['--client']),
    '--dev',
    'null',
    '--ifconfig-noexec',
    '--route-noexec',
    ...(fromProfile === null ? serverArgs(gateway) : []),
    '--auth-user-pass',
    authFile,
    '--auth-retry',
    'none',
    '--explicit-exit-notify',
    '1',
    '--connect-retry',
    '1',
    '5',
    '--verb',
    '3',
    '--suppress-timestamps',
    ...(options.extraArgs ?? []),
  ];

  let log = '';
  let exited = false;
  let exitCode: number | null = null;
  const lineWaiters = new Set<(line: string) => void>();
  const exitWaiters = new Set<() => void>();
  let partial = '';

  const child: ChildProcess = spawnIn(gateway.clientsNamespace, argv, {
    match: authFile,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    await rm(authFile, { force: true });
    throw new Error('cannot start openvpn');
  }
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    if (log.length < LOG_LIMIT) log += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) for (const w of [...lineWaiters]) w(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.once('exit', (code) => {
    exited = true;
    exitCode = code;
    if (partial) for (const w of [...lineWaiters]) w(partial);
    partial = '';
    for (const w of [...exitWaiters]) w();
  });
  child.once('error', () => {
    exited = true;
    for (const w of [...exitWaiters]) w();
  });

  const waitForExit = async (ms: number): Promise<boolean> => {
    if (exited) return true;
    return await new Promise<boolean>((resolveWait) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        exitWaiters.delete(onExit);
        resolveWait(value);
      };
      const onExit = (): void => done(true);
      const timer = setTimeout(() => done(exited), ms);
      exitWaiters.add(onExit);
    });
  };

  const waitForLog = async (pattern: RegExp, ms: number, fromStart = false): Promise<boolean> => {
    if (fromStart && log.split('\n').some((l) => pattern.test(l))) return true;
    if (exited) return false;
    return await new Promise<boolean>((resolveWait) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        lineWaiters.delete(onLine);
        exitWaiters.delete(onExit);
        resolveWait(value);
      };
      const onLine = (line: string): void => {
        if (pattern.test(line)) done(true);
      };
      const onExit = (): void => done(false);
      const timer = setTimeout(() => done(false), ms);
      lineWaiters.add(onLine);
      exitWaiters.add(onExit);
    });
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) {
        await killProcess(pid, authFile, { graceMs: 3_000 });
        await waitForExit(3_000);
      }
      await rm(authFile, { force: true });
    })();
    return stopping;
  };

  const outcome = await new Promise<VpnOutcome>((resolveOutcome) => {
    const done = (value: VpnOutcome): void => {
      clearTimeout(timer);
      lineWaiters.delete(onLine);
      exitWaiters.delete(onExit);
      resolveOutcome(value);
    };
    const onLine = (line: string): void => {
      if (line.includes('Initialization Sequence Completed')) done('connected');
      else if (line.includes('AUTH_FAILED')) done('auth-failed');
    };
    const onExit = (): void => done(/AUTH_FAILED/.test(log) ? 'auth-failed' : 'exited');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    lineWaiters.add(onLine);
    exitWaiters.add(onExit);
  });
  if (outcome === 'auth-failed') await waitForExit(5_000); // --auth-retry none: it exits by itself

  return {
    outcome,
    username,
    pid,
    get log() {
      return log;
    },
    get exited() {
      return exited || !isAlive(pid);
    },
    get exitCode() {
      return exitCode;
    },
    waitForExit,
    waitForLog,
    stop,
  };
}

/**
 * Connects many clients with at most `concurrency` handshakes in flight (default 20); resolves
 * with every client, in input order, whatever its outcome.
 */
export async function connectVpnClients(
  gateway: VpnClientTarget,
  credentials: readonly { username: string; password: string }[],
  options: { concurrency?: number; timeoutMs?: number } = {},
): Promise<VpnClient[]> {
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 20, 200));
  const results: VpnClient[] = new Array(credentials.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const c = credentials[i];
      if (c === undefined) return;
      const opts: ConnectVpnClientOptions = { gateway, username: c.username, password: c.password };
      if (options.timeoutMs !== undefined) opts.timeoutMs = options.timeoutMs;
      results[i] = await connectVpnClient(opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, credentials.length) }, worker));
  return results;
}

/** Stops clients in parallel. */
export async function stopVpnClients(clients: readonly VpnClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.stop()));
}
