/**
 * A real WireGuard gateway host for tests, demos and benchmarks: userspace wireguard-go (this
 * machine kind has no WireGuard kernel module) on a tun device in a network namespace of ours,
 * managed over the host's own sshd like any production gateway (ssh-host.ts), and real
 * WireGuard clients — one namespace and one wireguard-go each — that handshake and ping across.
 *
 * The host has its own /etc with rac's management account (ssh-host.ts, privateEtc).
 *
 * The gateway's wireguard-go is started THROUGH the host's sshd, so it lives in that sshd's
 * private mount and PID namespaces: its control socket is in the host's own /run/wireguard
 * (every gateway can call its interface wg0), `wg` over SSH finds it, and stopping the host
 * ends it. Its key pair comes from the real tools (`wg genkey`, `wg pubkey`), the private key
 * only ever on stdin.
 *
 * Addresses (inside our namespaces only): gateway k of a run has the root link of host 32 + k
 * (rac's SSH), a bridge 10.233.k.1/24 that every client of it joins (the one endpoint every
 * profile names), and the tunnel network 10.(60+k).0.0/16 with the gateway at .0.1.
 *
 *   node infra/local/wireguard-gateway.ts     (a demo: gateway + one client, prints facts, Ctrl-C stops)
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MANAGER_USER } from './manager.ts';
import {
  assertRunId,
  createNamespace,
  deleteNamespace,
  execIn,
  execOk,
  IP,
  killProcess,
  linkNamespaces,
  makeDataDir,
  namespaceName,
  registerPath,
  rootLink,
  spawnIn,
  unregisterPath,
} from './netns.ts';
import { type SshHost, sshRun, startSshHost } from './ssh-host.ts';

export const WG = '/usr/bin/wg';
export const WIREGUARD_GO = '/usr/bin/wireguard-go';
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;
const SOCKET_DIR = '/run/wireguard';

export interface WireGuardGatewayOptions {
  name: string;
  /** 1..9: the namespace rac-<runId>-wg<index>, its links and the tunnel network 10.(60+index).0.0/16. */
  index: number;
  runId: string;
  port?: number;
  dataDir?: string;
}

export interface WireGuardGateway {
  name: string;
  index: number;
  namespace: string;
  /** The host's address in the root namespace (its sshd). */
  address: string;
  ssh: SshHost;
  interfaceName: 'wg0';
  /** rac's peer file on the host. */
  peersFile: string;
  publicKey: string;
  /** Where clients reach the gateway (the bridge every client namespace joins). */
  endpointHost: string;
  endpointPort: number;
  /** The tunnel network, e.g. 10.61.0.0/16; the gateway is its .0.1. */
  serverNetwork: string;
  tunnelAddress: string;
  dataDir: string;
  /** Runs `wg <args>` on the gateway (in its mount namespace, through its sshd). */
  wg(args: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** `wg genkey` then `wg pubkey`: the real tools, key on stdin/stdout only. */
export async function wgKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = (await execOk([WG, 'genkey'], { timeoutMs: 5_000 })).stdout.trim();
  const publicKey = (await execOk([WG, 'pubkey'], { input: `${privateKey}\n`, timeoutMs: 5_000 })).stdout.trim();
  return { privateKey, publicKey };
}

/** Brings the gateway's interface up; stdin is its private key. Static text: data in $1..$4 and stdin. */
const START_SCRIPT = `set -eu
env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 ${WIREGUARD_GO} wg0 </dev/null >>"$1/wireguard-go.log" 2>&1
${WG} set wg0 private-key /dev/stdin listen-port "$2"
${IP} address add "$3" dev wg0
${IP} link set wg0 up
: > "$4"
chmod 600 "$4"
`;

export async function startWireGuardGateway(options: WireGuardGatewayOptions): Promise<WireGuardGateway> {
  const { name, index, runId } = options;
  if (!NAME_RE.test(name)) throw new Error(`invalid gateway name ${JSON.stringify(name)}`);
  if (!Number.isInteger(index) || index < 1 || index > 9) throw new Error(`gateway index must be 1..9, got ${index}`);
  assertRunId(runId);
  const namespace = namespaceName(runId, `wg${index}`);
  const port = options.port ?? 51820;
  const dataDir = options.dataDir ?? (await makeDataDir('rac-wg-'));
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  registerPath(dataDir);
  const serverNetwork = `10.${60 + index}.0.0/16`;
  const tunnelAddress = `10.${60 + index}.0.1`;
  const bridgeAddress = `10.233.${index}.1`;
  const peersFile = join(dataDir, 'peers.conf');

  let ssh: SshHost | undefined;
  let namespaceCreated = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // The host's PID namespace holds wireguard-go: stopping sshd (its PID 1) ends it.
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
    const root = await rootLink(runId, 32 + index);
    await linkNamespaces('root', root.rootCidr, namespace, root.nsCidr);
    await execOk([IP, '-n', namespace, 'link', 'add', 'br0', 'type', 'bridge'], { timeoutMs: 10_000 });
    await execOk([IP, '-n', namespace, 'address', 'add', `${bridgeAddress}/24`, 'dev', 'br0'], { timeoutMs: 10_000 });
    await execOk([IP, '-n', namespace, 'link', 'set', 'br0', 'up'], { timeoutMs: 10_000 });
    ssh = await startSshHost({
      namespace,
      address: root.nsAddress,
      dataDir: join(dataDir, 'ssh'),
      privateEtc: true,
      allowUsers: ['root', MANAGER_USER],
    });
    const keys = await wgKeyPair();
    const started = await sshRun(
      ssh,
      ['sh', '-c', START_SCRIPT, 'sh', dataDir, String(port), `${tunnelAddress}/16`, peersFile],
      {
        input: `${keys.privateKey}\n`,
        timeoutMs: 20_000,
      },
    );
    if (started.code !== 0) throw new Error(`wireguard-go on ${name} did not start: ${started.stderr.trim()}`);
    const host = ssh;
    const wg: WireGuardGateway['wg'] = async (args, input) =>
      await sshRun(host, [WG, ...args], { timeoutMs: 20_000, ...(input === undefined ? {} : { input }) });
    const shown = await wg(['show', 'wg0', 'public-key']);
    if (shown.stdout.trim() !== keys.publicKey)
      throw new Error(`wg0 on ${name} does not hold its key: ${shown.stderr}`);
    return {
      name,
      index,
      namespace,
      address: root.nsAddress,
      ssh,
      interfaceName: 'wg0',
      peersFile,
      publicKey: keys.publicKey,
      endpointHost: bridgeAddress,
      endpointPort: port,
      serverNetwork,
      tunnelAddress,
      dataDir,
      wg,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

export interface WireGuardClient {
  namespace: string;
  interfaceName: string;
  /** The tunnel address from the profile. */
  address: string;
  /** One ping through the tunnel to the gateway's tunnel address (1 s timeout). */
  ping(): Promise<boolean>;
  /** Unix seconds of the client's last completed handshake, null for never. */
  latestHandshake(): Promise<number | null>;
  stop(): Promise<void>;
}

/** The `wg`-level fields of a wg-quick profile, as `wg-quick strip` would leave them, plus Address. */
export function parseProfile(profile: string): { wgConfig: string; address: string; allowedIps: string[] } {
  const keep: string[] = [];
  let address: string | undefined;
  let allowedIps: string[] = [];
  for (const raw of profile.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq).trim();
    const value = eq === -1 ? '' : line.slice(eq + 1).trim();
    if (key === 'Address') address = value.replace(/\/\d+$/, '');
    else if (key === 'DNS') continue;
    else {
      if (key === 'AllowedIPs') allowedIps = value.split(',').map((v) => v.trim());
      keep.push(line);
    }
  }
  if (address === undefined) throw new Error('the profile has no Address');
  return { wgConfig: `${keep.join('\n')}\n`, address, allowedIps };
}

let clientSeq = 0;

/**
 * A real WireGuard client from a person's wg-quick profile: its own namespace joined to the
 * gateway's bridge, its own wireguard-go, the profile loaded with `wg setconf` (on stdin), the
 * profile's Address and AllowedIPs routes set as wg-quick would. PersistentKeepalive in the
 * profile makes it handshake at once.
 */
export async function connectWireGuardClient(
  gateway: Pick<WireGuardGateway, 'namespace' | 'index' | 'tunnelAddress'>,
  profile: string,
  runId: string,
): Promise<WireGuardClient> {
  clientSeq += 1;
  const k = clientSeq;
  if (k > 200) throw new Error('at most 200 WireGuard clients per process');
  const namespace = namespaceName(runId, `w${gateway.index}c${k}`);
  const interfaceName = `rw${runId}${k}`;
  const socket = join(SOCKET_DIR, `${interfaceName}.sock`);
  const { wgConfig, address, allowedIps } = parseProfile(profile);
  let child: ReturnType<typeof spawnIn> | undefined;
  const stop = async () => {
    if (child?.pid !== undefined) await killProcess(child.pid, interfaceName, { graceMs: 2_000 });
    await deleteNamespace(namespace);
    await rm(socket, { force: true });
    unregisterPath(socket);
  };
  try {
    await createNamespace(namespace);
    registerPath(socket);
    const veth = `c${k}`;
    await execOk(
      [IP, '-n', gateway.namespace, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace],
      {
        timeoutMs: 10_000,
      },
    );
    await execOk([IP, '-n', gateway.namespace, 'link', 'set', veth, 'master', 'br0', 'up'], { timeoutMs: 10_000 });
    await execOk([IP, '-n', namespace, 'address', 'add', `10.233.${gateway.index}.${10 + k}/24`, 'dev', 'eth0'], {
      timeoutMs: 10_000,
    });
    await execOk([IP, '-n', namespace, 'link', 'set', 'eth0', 'up'], { timeoutMs: 10_000 });
    child = spawnIn(namespace, [WIREGUARD_GO, '-f', interfaceName], {
      match: interfaceName,
      env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' },
    });
    const deadline = Date.now() + 10_000;
    while ((await execIn(namespace, [WG, 'show', interfaceName, 'public-key'])).code !== 0) {
      if (Date.now() > deadline) throw new Error(`wireguard-go ${interfaceName} did not come up`);
      await sleep(20);
    }
    // The profile holds the private key: it travels on stdin only. Node's stdin is a socket,
    // which /dev/stdin cannot be opened on (ENXIO): `cat` turns it into a pipe.
    await execOk(
      [IP, 'netns', 'exec', namespace, 'sh', '-c', `cat | exec ${WG} setconf "$1" /dev/stdin`, 'sh', interfaceName],
      {
        input: wgConfig,
        timeoutMs: 10_000,
      },
    );
    await execOk([IP, '-n', namespace, 'address', 'add', `${address}/32`, 'dev', interfaceName], { timeoutMs: 10_000 });
    await execOk([IP, '-n', namespace, 'link', 'set', interfaceName, 'up'], { timeoutMs: 10_000 });
    for (const cidr of allowedIps)
      await execOk([IP, '-n', namespace, 'route', 'add', cidr, 'dev', interfaceName], { timeoutMs: 10_000 });
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return {
    namespace,
    interfaceName,
    address,
    async ping() {
      const r = await execIn(namespace, ['/usr/bin/ping', '-c', '1', '-W', '1', '-n', '-q', gateway.tunnelAddress], {
        timeoutMs: 5_000,
      });
      return r.code === 0;
    },
    async latestHandshake() {
      const r = await execIn(namespace, [WG, 'show', interfaceName, 'latest-handshakes'], { timeoutMs: 5_000 });
      const seconds = Number(r.stdout.trim().split(/\s+/)[1] ?? 0);
      return seconds > 0 ? seconds : null;
    },
    stop,
  };
}

/** Waits until `check` holds (polling every 100 ms) or `ms` pass; resolves with the last answer. */
export async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Demo: node infra/local/wireguard-gateway.ts

async function main(): Promise<void> {
  const { newRunId, cleanupAll } = await import('./netns.ts');
  const runId = newRunId();
  const gateway = await startWireGuardGateway({ name: 'demo', index: 1, runId });
  const client = await wgKeyPair();
  const address = '10.61.0.10';
  await writeFile(gateway.peersFile, `[Peer]\nPublicKey = ${client.publicKey}\nAllowedIPs = ${address}/32\n`);
  await gateway.wg(['addconf', 'wg0', gateway.peersFile]);
  const profile = [
    '[Interface]',
    `PrivateKey = ${client.privateKey}`,
    `Address = ${address}/32`,
    '[Peer]',
    `PublicKey = ${gateway.publicKey}`,
    `Endpoint = ${gateway.endpointHost}:${gateway.endpointPort}`,
    `AllowedIPs = ${gateway.serverNetwork}`,
    'PersistentKeepalive = 25',
  ].join('\n');
  const c = await connectWireGuardClient(gateway, profile, runId);
  console.log(JSON.stringify({ gateway: gateway.name, namespace: gateway.namespace, ping: await c.ping() }));
  console.error('Ctrl-C to stop');
  const shutdown = (): void => {
    void (async () => {
      await c.stop();
      await gateway.stop();
      await cleanupAll();
      process.exit(0);
    })();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
