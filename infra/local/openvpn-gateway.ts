/**
 * A real OpenVPN 2.6 gateway host for tests, demos and benchmarks: a network namespace linked to
 * the root namespace (rac reaches the host's sshd there) and to the run's clients namespace
 * (vpn-clients.ts), the server from infra/openvpn/server.conf.template with infra/openvpn/auth-ldap.sh
 * (LDAP password over the directory's ldapi:// socket + vpn tier group), and an sshd for the host.
 *
 * Layout of a gateway's dataDir (default /dev/shm/rac-gw-XXXXXX, mode 0700, 0711 when rac manages
 * the gateway; see netns.scratchRoot):
 *   server.conf  auth-ldap.sh  auth-ldap.conf  pki/server.{crt,key}  pki/auth-token.key
 *   ccd -> ccd.d/0       client-config-dir: a SYMLINK; rac swaps it with `mv -T` to a new directory
 *   mgmt/management.sock the management interface, for the account rac logs in as (`manager`):
 *                        root: dir 0700, management-client-user root; rac: dir 0750 root:rac,
 *                        management-client-user rac (OpenVPN checks the peer's uid, and rac's SSH
 *                        stream-local forwarding connects as the SSH user)
 *   tmp/                 tmp-dir: a tmpfs mounted only in the server's own mount namespace
 *   status.log           status-version 3, every 5 s
 *   openvpn.log, openvpn.pid, ssh/ (the host's sshd with its private /etc, see ssh-host.ts)
 * The CA (caFile) is one per run and signs the server certificate of every gateway of the run.
 * The server runs with the host's private /etc (it resolves `management-client-user` there).
 *
 *   node infra/local/openvpn-gateway.ts     (a demo: directory + gateway, prints facts, Ctrl-C stops)
 */
import { chmod, chown, copyFile, mkdir, open, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createSshShell } from '../../src/adapters/ssh/ssh-shell.ts';
import { Secret } from '../../src/core/secret.ts';
import type { LocalDirectory } from './directory.ts';
import { MANAGER_USER, type Manager } from './manager.ts';
import {
  assertRunId,
  createNamespace,
  deleteNamespace,
  execOk,
  isAlive,
  killProcess,
  linkNamespaces,
  makeDataDir,
  namespaceName,
  registerPath,
  rootLink,
  scratchRoot,
  spawnIn,
  unregisterPath,
} from './netns.ts';
import { type SshHost, startSshHost } from './ssh-host.ts';
import { clientsLink, ensureClientsNamespace, OPENVPN } from './vpn-clients.ts';

const TEMPLATE = fileURLToPath(new URL('../openvpn/server.conf.template', import.meta.url));
const AUTH_SCRIPT = fileURLToPath(new URL('../openvpn/auth-ldap.sh', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;

export interface OpenVpnGatewayOptions {
  /** [a-z0-9][a-z0-9-]{0,30}; also the server certificate's CN (`serverName`). */
  name: string;
  directory: Pick<LocalDirectory, 'ldapiUrl' | 'usersBase' | 'groups'>;
  /** 1..9: picks the namespace (rac-<runId>-gw<index>), the links and the server subnet 10.(80+index).0.0/16. */
  index: number;
  runId: string;
  /** Default a fresh directory under /dev/shm (tmpfs) or os.tmpdir() (removed by stop()). */
  dataDir?: string;
  /** UDP port of the server (default 1194). */
  port?: number;
  /** `max-clients` (default 6000). */
  maxClients?: number;
  /** The account rac logs in as, and so the only one the management interface serves (default root). */
  manager?: Manager;
}

export interface OpenVpnGateway {
  name: string;
  namespace: string;
  /** The run's clients namespace (vpn-clients.ts), linked to this gateway. */
  clientsNamespace: string;
  /** The gateway host's address in the root namespace (its sshd listens here). */
  address: string;
  /** The server's address as clients see it (from the clients namespace). */
  vpnAddress: string;
  vpnPort: number;
  /** CN of the server certificate. */
  serverName: string;
  ssh: SshHost;
  /** The account rac logs in as; the management interface serves only it. */
  manager: Manager;
  /** client-config-dir: a symlink to ccd.d/0 (swap it atomically with `mv -T`). */
  ccdDir: string;
  managementSocket: string;
  /** status-version 3 file, rewritten every 5 s. */
  statusFile: string;
  /** CA of the run (PEM). */
  caFile: string;
  /** The `server` network as a CIDR, e.g. 10.81.0.0/16. */
  serverSubnet: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  /** Pid of the running server, or undefined while stopped. */
  serverPid(): number | undefined;
  /** SIGTERM the server (explicit-exit-notify tells clients), SIGKILL after 5 s. A gateway "down". */
  stopServer(): Promise<void>;
  /** Starts the server again with the same config (resolves once it is up). */
  startServer(): Promise<void>;
  /** Stops everything of this gateway and deletes its namespace and dataDir. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// PKI: one CA per run (the product's profiles.ca_file is one CA for all gateways)

interface RunCa {
  dir: string;
  caFile: string;
  caKey: string;
}

const runCas = new Map<string, Promise<RunCa>>();
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function runCa(runId: string): Promise<RunCa> {
  let pending = runCas.get(runId);
  if (pending === undefined) {
    pending = (async () => {
      const dir = join(scratchRoot(), `rac-pki-${runId}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o700 });
      registerPath(dir);
      const caFile = join(dir, 'ca.crt');
      const caKey = join(dir, 'ca.key');
      await execOk(
        [
          'openssl',
          'req',
          '-x509',
          ...EC,
          '-keyout',
          caKey,
          '-out',
          caFile,
          '-days',
          '7',
          '-sha256',
          '-subj',
          `/CN=rac local VPN CA ${runId}`,
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ],
        { timeoutMs: 20_000 },
      );
      return { dir, caFile, caKey };
    })();
    runCas.set(runId, pending);
    pending.catch(() => runCas.delete(runId));
  }
  return await pending;
}

async function serverCertificate(
  ca: RunCa,
  dir: string,
  cn: string,
  ip: string,
): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { mode: 0o700 });
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await execOk(
    [
      'openssl',
      'req',
      '-x509',
      ...EC,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '7',
      '-sha256',
      '-CA',
      ca.caFile,
      '-CAkey',
      ca.caKey,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=IP:${ip}`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ],
    { timeoutMs: 20_000 },
  );
  return { cert, key };
}

// ---------------------------------------------------------------------------------------------
// Management interface

/** Management sockets of this process's gateways that serve only rac: how to log in there as rac. */
const racOnlySockets = new Map<string, { host: string; port: number; privateKey: string; hostKey: string }>();

/**
 * A connection to a management socket that serves only rac: OpenVPN refuses any other peer, root
 * included, so it is opened as rac does it — stream-local forwarding through the host's sshd,
 * logged in as rac (the sshd connects to the socket as rac).
 */
async function connectAsManager(
  socketPath: string,
  login: { host: string; port: number; privateKey: string; hostKey: string },
  timeoutMs: number,
): Promise<Duplex> {
  const shell = createSshShell({
    name: `management of ${socketPath}`,
    host: login.host,
    port: login.port,
    user: MANAGER_USER,
    privateKey: new Secret(login.privateKey),
    hostKey: login.hostKey,
    connectTimeoutMs: timeoutMs,
    defaultTimeoutMs: timeoutMs,
  });
  try {
    const stream = await shell.openUnixSocket(socketPath, { timeoutMs });
    stream.once('close', () => void shell.close());
    return stream;
  } catch (err) {
    await shell.close();
    throw err;
  }
}

/**
 * One management command over the unix socket: reads the greeting, sends `command`, reads the
 * answer (one SUCCESS:/ERROR: line, or lines up to END), sends `quit`. Real-time `>` lines are
 * skipped. The interface serves one client at a time, so always bounded by `timeoutMs`. The
 * socket of a gateway of this process that rac manages is reached as rac (see connectAsManager).
 */
export async function managementCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  if (/[\r\n]/.test(command)) throw new Error('management command must be one line');
  const login = racOnlySockets.get(socketPath);
  const socket: Duplex =
    login === undefined ? createConnection(socketPath) : await connectAsManager(socketPath, login, timeoutMs);
  return await new Promise<string>((resolveCmd, reject) => {
    let buffer = '';
    let greeted = false;
    const answer: string[] = [];
    let finished = false;
    const finish = (err: Error | undefined, text?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.end('quit\n', () => socket.destroy());
        resolveCmd(text ?? '');
      }
    };
    const timer = setTimeout(
      () => finish(new Error(`management ${socketPath}: no answer to "${command}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('error', (err) => finish(new Error(`management ${socketPath}: ${err.message}`, { cause: err })));
    socket.on('close', () => finish(new Error(`management ${socketPath}: closed before answering "${command}"`)));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (!greeted) {
          if (line.startsWith('>INFO:')) {
            greeted = true;
            socket.write(`${command}\n`);
          }
          continue;
        }
        if (line.startsWith('>')) continue;
        if (answer.length === 0 && (line.startsWith('SUCCESS:') || line.startsWith('ERROR:'))) {
          finish(undefined, line);
          return;
        }
        if (line === 'END') {
          finish(undefined, answer.join('\n'));
          return;
        }
        answer.push(line);
      }
    });
  });
}

export interface OpenVpnSession {
  commonName: string;
  realAddress: string;
  virtualAddress: string;
  username: string;
  clientId: string;
  peerId: string;
  connectedSince: number;
}

/** CLIENT_LIST rows of `status 3` output (or of a status-version 3 file), by the HEADER's column names. */
export function parseClientList(status: string): OpenVpnSession[] {
  const lines = status.split(/\r?\n/).map((l) => l.split('\t'));
  const header = lines.find((f) => f[0] === 'HEADER' && f[1] === 'CLIENT_LIST')?.slice(1);
  if (header === undefined) return [];
  const col = (name: string): number => header.indexOf(name);
  const idx = {
    cn: col('Common Name'),
    real: col('Real Address'),
    virt: col('Virtual Address'),
    user: col('Username'),
    cid: col('Client ID'),
    peer: col('Peer ID'),
    since: col('Connected Since (time_t)'),
  };
  return lines
    .filter((f) => f[0] === 'CLIENT_LIST')
    .map((f) => ({
      commonName: f[idx.cn] ?? '',
      realAddress: f[idx.real] ?? '',
      virtualAddress: f[idx.virt] ?? '',
      username: f[idx.user] ?? '',
      clientId: f[idx.cid] ?? '',
      peerId: f[idx.peer] ?? '',
      connectedSince: Number(f[idx.since] ?? 0),
    }));
}

// ---------------------------------------------------------------------------------------------
// The gateway

function shellValue(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function logSince(file: string, offset: number): Promise<string> {
  try {
    return (await readFile(file)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function tailOf(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
}

export async function startOpenVpnGateway(options: OpenVpnGatewayOptions): Promise<OpenVpnGateway> {
  const { name, directory, index, runId } = options;
  if (!NAME_RE.test(name)) throw new Error(`invalid gateway name ${JSON.stringify(name)}`);
  if (!Number.isInteger(index) || index < 1 || index > 9) throw new Error(`gateway index must be 1..9, got ${index}`);
  assertRunId(runId);
  const vpnPort = options.port ?? 1194;
  const manager = options.manager ?? 'root';
  const namespace = namespaceName(runId, `gw${index}`);
  const serverNetwork = `10.${80 + index}.0.0`;
  const serverSubnet = `${serverNetwork}/16`;

  const dataDir = options.dataDir ?? (await makeDataDir('rac-gw-'));
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  registerPath(dataDir);

  let ssh: SshHost | undefined;
  let namespaceCreated = false;
  let server: { pid: number; exited: Promise<void>; done: boolean } | undefined;
  const configFile = join(dataDir, 'server.conf');
  const logFile = join(dataDir, 'openvpn.log');
  const tmpDir = join(dataDir, 'tmp');
  const managementSocket = join(dataDir, 'mgmt', 'management.sock');

  const stopServer = async (): Promise<void> => {
    const s = server;
    if (s === undefined) return;
    if (!s.done) await killProcess(s.pid, configFile, { graceMs: 5_000 });
    await Promise.race([s.exited, sleep(3_000)]);
    server = undefined;
  };

  const startServer = async (): Promise<void> => {
    if (server !== undefined && !server.done && isAlive(server.pid)) return;
    const etcDir = ssh?.etcDir;
    if (etcDir === undefined) throw new Error(`openvpn ${name}: the host has no /etc of its own yet`);
    await rm(managementSocket, { force: true });
    const offset = await fileSize(logFile);
    const log = await open(logFile, 'a', 0o600);
    let child: ReturnType<typeof spawnIn>;
    try {
      // A private mount namespace for the tmpfs on tmp-dir (credentials never touch a disk) and
      // the host's /etc (the server resolves management-client-user there).
      child = spawnIn(
        namespace,
        [
          '/usr/bin/unshare',
          '--mount',
          '--propagation',
          'private',
          '/bin/sh',
          '-c',
          `mount --bind "$3" /etc && mount -t tmpfs -o mode=700,size=64m tmpfs "$1" && exec ${OPENVPN} --config "$2"`,
          'sh',
          tmpDir,
          configFile,
          etcDir,
        ],
        { match: configFile, pidfile: join(dataDir, 'openvpn.pid'), stdio: ['ignore', log.fd, log.fd] },
      );
    } finally {
      await log.close();
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot start openvpn for ${name}`);
    const state = {
      pid,
      done: false,
      exited: new Promise<void>((resolveExit) => child.once('exit', () => resolveExit())),
    };
    void state.exited.then(() => {
      state.done = true;
    });
    server = state;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const text = await logSince(logFile, offset);
      if (text.includes('Initialization Sequence Completed')) break;
      if (state.done) throw new Error(`openvpn ${name} exited during start; log:\n${tailOf(text)}`);
      if (Date.now() > deadline) {
        await stopServer();
        throw new Error(`openvpn ${name} not up within ${READY_TIMEOUT_MS} ms; log:\n${tailOf(text)}`);
      }
      await sleep(20);
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await stopServer().catch(() => {});
      await ssh?.stop().catch(() => {});
      racOnlySockets.delete(managementSocket);
      if (namespaceCreated) await deleteNamespace(namespace);
      await rm(dataDir, { recursive: true, force: true });
      unregisterPath(dataDir);
    })();
    return stopping;
  };

  try {
    const clientsNamespace = await ensureClientsNamespace(runId);
    await createNamespace(namespace);
    namespaceCreated = true;
    const root = await rootLink(runId, index);
    const toClients = clientsLink(index);
    await linkNamespaces('root', root.rootCidr, namespace, root.nsCidr);
    await linkNamespaces(namespace, toClients.gatewayCidr, clientsNamespace, toClients.clientsCidr);

    // The host first: the server resolves management-client-user in the host's /etc.
    ssh = await startSshHost({
      namespace,
      address: root.nsAddress,
      dataDir: join(dataDir, 'ssh'),
      privateEtc: true,
      allowUsers: ['root', MANAGER_USER],
    });
    const managerAccount = ssh.manager;
    if (managerAccount === undefined) throw new Error(`${name}: the host has no account for rac`);

    // PKI, files, config
    const ca = await runCa(runId);
    const serverName = `rac-gateway-${name}`;
    const [pki] = await Promise.all([
      serverCertificate(ca, join(dataDir, 'pki'), serverName, toClients.gatewayAddress),
      mkdir(join(dataDir, 'ccd.d', '0'), { recursive: true, mode: 0o755 }),
      mkdir(join(dataDir, 'mgmt'), { mode: 0o700 }),
      mkdir(tmpDir, { mode: 0o700 }),
    ]);
    if (manager === MANAGER_USER) {
      // rac (the SSH user) reaches the socket: it may pass through dataDir (not list it) and the
      // socket's directory by its group; every secret below stays root's alone (0700/0600).
      await chmod(dataDir, 0o711);
      await chown(join(dataDir, 'mgmt'), 0, managerAccount.gid);
      await chmod(join(dataDir, 'mgmt'), 0o750);
      racOnlySockets.set(managementSocket, {
        host: root.nsAddress,
        port: ssh.port,
        privateKey: ssh.privateKey,
        hostKey: ssh.hostKeyLine.split(' ').slice(1, 3).join(' '),
      });
    }
    const ccdDir = join(dataDir, 'ccd');
    await symlink('ccd.d/0', ccdDir);
    const authScript = join(dataDir, 'auth-ldap.sh');
    const authConf = join(dataDir, 'auth-ldap.conf');
    await copyFile(AUTH_SCRIPT, authScript);
    await writeFile(
      authConf,
      [
        `# written by infra/local/openvpn-gateway.ts for ${name}`,
        `LDAP_URI=${shellValue(directory.ldapiUrl)}`,
        `USERS_BASE=${shellValue(directory.usersBase)}`,
        `GROUP_DN=${shellValue(directory.groups.vpn)}`,
        'LDAP_TIMEOUT=5',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const statusFile = join(dataDir, 'status.log');
    // auth-gen-token-secret: tokens stay valid across stopServer/startServer.
    const authTokenSecret = join(dataDir, 'pki', 'auth-token.key');
    await execOk([OPENVPN, '--genkey', 'auth-token', authTokenSecret], { timeoutMs: 10_000 });
    const values: Record<string, string> = {
      LOCAL_ADDRESS: toClients.gatewayAddress,
      PORT: String(vpnPort),
      SERVER_NETWORK: serverNetwork,
      SERVER_NETMASK: '255.255.0.0',
      MAX_CLIENTS: String(options.maxClients ?? 6000),
      CA_FILE: ca.caFile,
      CERT_FILE: pki.cert,
      KEY_FILE: pki.key,
      TMP_DIR: tmpDir,
      AUTH_SCRIPT: authScript,
      AUTH_CONF: authConf,
      AUTH_TOKEN_SECRET: authTokenSecret,
      CCD_DIR: ccdDir,
      MANAGEMENT_SOCKET: managementSocket,
      MANAGEMENT_CLIENT_USER: manager,
      STATUS_FILE: statusFile,
    };
    const config = (await readFile(TEMPLATE, 'utf8')).replace(/@([A-Z_]+)@/g, (whole, key: string) => {
      const v = values[key];
      if (v === undefined) throw new Error(`server.conf.template: unknown placeholder ${whole}`);
      return v;
    });
    await writeFile(configFile, config, { mode: 0o600 });

    await startServer();

    return {
      name,
      namespace,
      clientsNamespace,
      address: root.nsAddress,
      vpnAddress: toClients.gatewayAddress,
      vpnPort,
      serverName,
      ssh,
      manager,
      ccdDir,
      managementSocket,
      statusFile,
      caFile: ca.caFile,
      serverSubnet,
      dataDir,
      configFile,
      logFile,
      serverPid: () => (server !== undefined && !server.done ? server.pid : undefined),
      stopServer,
      startServer,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Demo: node infra/local/openvpn-gateway.ts

async function main(): Promise<void> {
  const { startDirectory } = await import('./directory.ts');
  const { generateCompany } = await import('./company.ts');
  const { newRunId, cleanupAll } = await import('./netns.ts');
  const people = generateCompany(5, { seed: 1 });
  const directory = await startDirectory({ people, memberships: new Map(people.map((p) => [p.uid, 'vpn'] as const)) });
  const started = performance.now();
  const gateway = await startOpenVpnGateway({ name: 'demo', directory, index: 1, runId: newRunId() });
  // Everyone of the demo is in the vpn group and has a CCD file: all may connect.
  await Promise.all(people.map((p) => writeFile(join(gateway.ccdDir, p.uid), '')));
  const { stop: _s, stopServer: _a, startServer: _b, serverPid: _c, ssh, ...facts } = gateway;
  const { stop: _d, privateKey: _e, ...sshFacts } = ssh;
  console.log(
    JSON.stringify(
      {
        ...facts,
        ssh: sshFacts,
        people: people.map((p) => ({ uid: p.uid, password: p.password })),
        startMs: Math.round(performance.now() - started),
      },
      null,
      2,
    ),
  );
  console.error('Ctrl-C to stop');
  const shutdown = (): void => {
    void (async () => {
      await gateway.stop();
      await directory.stop();
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
