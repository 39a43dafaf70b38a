/**
 * A real access proxy for tests, demos and benchmarks: Debian's nginx running the shipped
 * example site (infra/nginx/rac-portal.conf, with paths swapped), inside a network namespace of
 * ours with its own sshd (ssh-host.ts, with its own /etc and rac's management account) like the
 * gateways. Behind it: a small static app (an nginx server on the namespace's loopback) and the
 * LDAP check of infra/local/ldap-check.ts.
 *
 * nginx is started through the host's sshd, so it lives in that sshd's PID and mount namespaces:
 * `nginx -s reload` run by rac over SSH reads nginx's pid file and signals the right master
 * (pids differ between PID namespaces), and stopping the host ends nginx with it. Every path is
 * nginx's own (-p/-c; pid, error log, access log, all five temp paths): a network namespace does
 * not isolate the file system, and the machine's /run/nginx.pid is never touched. Workers run as
 * `nobody` (root master without `user`), so nginx's directory is 0755, outside the 0700 dataDir.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { LocalDirectory } from './directory.ts';
import { MANAGER_USER, type Manager, managerYaml } from './manager.ts';
import {
  assertRunId,
  createNamespace,
  deleteNamespace,
  execOk,
  linkNamespaces,
  makeDataDir,
  namespaceName,
  registerPath,
  rootLink,
  spawnIn,
  unregisterPath,
} from './netns.ts';
import { type SshHost, sshRun, startSshHost } from './ssh-host.ts';

export const NGINX = '/usr/sbin/nginx';
const SITE = fileURLToPath(new URL('../nginx/rac-portal.conf', import.meta.url));
const LDAP_CHECK = fileURLToPath(new URL('./ldap-check.ts', import.meta.url));
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;

export interface ProxyHostOptions {
  name: string;
  runId: string;
  /** 1..9: picks the namespace (rac-<runId>-px<index>) and the root link. */
  index: number;
  directory: Pick<LocalDirectory, 'ldapiUrl' | 'usersBase'>;
  /** nginx worker processes (default 2). */
  workers?: number;
  /** The account rac logs in as in `gatewayYaml` (default root). */
  manager?: Manager;
}

export interface ProxyResponse {
  status: number;
  body: string;
}

export interface ProxyHost {
  name: string;
  namespace: string;
  /** The proxy's address (HTTPS on 443, sshd on 22). */
  address: string;
  ssh: SshHost;
  /** nginx's prefix directory, holding every file below. */
  dir: string;
  allowMap: string;
  mapHashConf: string;
  accessLog: string;
  errorLog: string;
  pidFile: string;
  /** PEM of the self-signed portal certificate (clients pin it). */
  certificate: string;
  testCommand: string[];
  reloadCommand: string[];
  generationCommand: string[];
  /** The `proxy:` section and ssh line of a rac.yaml gateway entry for this host. */
  gatewayYaml(options?: {
    activeWindowSeconds?: number;
    ratedSessions?: number;
    hostKey?: string;
    sshTimeoutMs?: number;
  }): string;
  /** One HTTPS request through the portal as `user` (a fresh connection unless `agent`). */
  get(path: string, credentials: { user: string; password: string } | null, agent?: Agent): Promise<ProxyResponse>;
  /** An HTTPS agent (keep-alive) pinned to this portal's certificate. */
  agent(): Agent;
  stop(): Promise<void>;
}

/** The shipped site with this host's paths: fails if the example no longer has one of them. */
function adaptSite(text: string, dir: string): string {
  const swaps: Array<[string, string]> = [
    ['/etc/nginx/rac-map-hash.conf', join(dir, 'rac-map-hash.conf')],
    ['/etc/nginx/rac-allow.map', join(dir, 'rac-allow.map')],
    ['/etc/nginx/tls/portal.crt', join(dir, 'tls', 'portal.crt')],
    ['/etc/nginx/tls/portal.key', join(dir, 'tls', 'portal.key')],
    ['/var/log/nginx/portal.json.log', join(dir, 'log', 'portal.json.log')],
  ];
  let out = text;
  for (const [from, to] of swaps) {
    if (!out.includes(from)) throw new Error(`infra/nginx/rac-portal.conf no longer mentions ${from}`);
    out = out.replaceAll(from, to);
  }
  return out;
}

export async function startProxyHost(options: ProxyHostOptions): Promise<ProxyHost> {
  const { name, runId, index, directory } = options;
  if (!NAME_RE.test(name)) throw new Error(`invalid proxy host name ${JSON.stringify(name)}`);
  if (!Number.isInteger(index) || index < 1 || index > 9) throw new Error(`proxy index must be 1..9, got ${index}`);
  assertRunId(runId);
  const namespace = namespaceName(runId, `px${index}`);
  const dataDir = await makeDataDir('rac-px-');
  const dir = await makeDataDir('rac-nginx-');
  await chmod(dir, 0o755);
  registerPath(dataDir);
  registerPath(dir);

  let ssh: SshHost | undefined;
  let namespaceCreated = false;
  let check: ReturnType<typeof spawnIn> | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      check?.kill('SIGTERM');
      await ssh?.stop().catch(() => {}); // nginx lives in the sshd's PID namespace and ends with it
      if (namespaceCreated) await deleteNamespace(namespace);
      for (const d of [dataDir, dir]) {
        await rm(d, { recursive: true, force: true });
        unregisterPath(d);
      }
    })();
    return stopping;
  };

  try {
    await createNamespace(namespace);
    namespaceCreated = true;
    const root = await rootLink(runId, 48 + index);
    await linkNamespaces('root', root.rootCidr, namespace, root.nsCidr);
    ssh = await startSshHost({
      namespace,
      address: root.nsAddress,
      dataDir,
      privateEtc: true,
      allowUsers: ['root', MANAGER_USER],
    });
    const address = root.nsAddress;

    for (const sub of ['tls', 'log', 'tmp']) await mkdir(join(dir, sub), { mode: 0o755 });
    await execOk(
      [
        '/usr/bin/openssl',
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=IP:${address}`,
        '-keyout',
        join(dir, 'tls', 'portal.key'),
        '-out',
        join(dir, 'tls', 'portal.crt'),
      ],
      { timeoutMs: 15_000 },
    );
    const site = adaptSite(await readFile(SITE, 'utf8'), dir);
    const conf = join(dir, 'nginx.conf');
    const errorLog = join(dir, 'log', 'error.log');
    await writeFile(join(dir, 'rac-portal.conf'), site);
    await writeFile(join(dir, 'rac-allow.map'), '');
    await writeFile(join(dir, 'rac-map-hash.conf'), '');
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
    await writeFile(
      conf,
      [
        `# nginx of the local access proxy ${name} (infra/local/proxy-host.ts)`,
        `worker_processes ${options.workers ?? 2};`,
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${errorLog} notice;`,
        'worker_shutdown_timeout 10s;',
        'events { worker_connections 4096; }',
        'http {',
        ...temp.map((t) => `  ${t}_temp_path ${join(dir, 'tmp', t)};`),
        '  default_type application/octet-stream;',
        `  include ${join(dir, 'rac-portal.conf')};`,
        '  # The internal web app behind the portal: a page and an API call.',
        '  server {',
        '    listen 127.0.0.1:8080;',
        '    access_log off;',
        '    location /api/ { default_type application/json; return 200 \'{"app":"portal","user":"$http_x_rac_user"}\\n\'; }',
        "    location / { default_type text/html; return 200 '<!doctype html><title>Portal</title><p>Hello $http_x_rac_user</p>\\n'; }",
        '  }',
        '}',
        '',
      ].join('\n'),
    );

    const socketPath = decodeURIComponent(directory.ldapiUrl.replace(/^ldapi:\/\//, ''));
    const checkPid = join(dataDir, 'ldap-check.pid');
    check = spawnIn(namespace, [process.execPath, LDAP_CHECK, '9000', socketPath, directory.usersBase, checkPid], {
      match: checkPid,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      check?.stdout?.once('data', () => resolve());
      check?.once('exit', (code) => reject(new Error(`ldap-check exited (${code}) during start`)));
    });
    await ready;

    const base = [NGINX, '-p', dir, '-c', conf];
    const started = await sshRun(ssh, base, { timeoutMs: 15_000 });
    if (started.code !== 0) throw new Error(`nginx on ${name} did not start: ${started.stderr.trim()}`);
    const certificate = await readFile(join(dir, 'tls', 'portal.crt'), 'utf8');

    const get: ProxyHost['get'] = (path, credentials, agent) =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (credentials !== null)
          headers['authorization'] =
            `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
        const req = request(
          {
            host: address,
            port: 443,
            path,
            method: 'GET',
            headers,
            ca: certificate,
            agent: agent ?? false,
            timeout: 10_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${name} timed out`)));
        req.on('error', reject);
        req.end();
      });

    // Ready when the portal answers (401 without credentials) over TLS.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answer = await get('/', null).catch(() => null);
      if (answer?.status === 401) break;
      if (Date.now() > deadline)
        throw new Error(`nginx on ${name} not ready: ${answer?.status ?? 'no answer'}; ${await tailFile(errorLog)}`);
      await sleep(50);
    }

    const host: ProxyHost = {
      name,
      namespace,
      address,
      ssh,
      dir,
      allowMap: join(dir, 'rac-allow.map'),
      mapHashConf: join(dir, 'rac-map-hash.conf'),
      accessLog: join(dir, 'log', 'portal.json.log'),
      errorLog,
      pidFile: join(dir, 'nginx.pid'),
      certificate,
      testCommand: [...base, '-t', '-q'],
      reloadCommand: [...base, '-s', 'reload'],
      generationCommand: ['/usr/bin/curl', '-fsS', '--max-time', '2', 'http://127.0.0.1:8081/_rac/generation'],
      gatewayYaml(o = {}) {
        const json = (v: unknown) => JSON.stringify(v);
        return [
          `  - name: ${name}`,
          '    kind: proxy',
          `    rated_sessions: ${o.ratedSessions ?? 4000}`,
          `    ssh: { host: ${address}, port: 22, ${managerYaml(options.manager ?? 'root')}, private_key_file: ${ssh?.privateKeyFile}, host_key: "${o.hostKey ?? ssh?.hostKeyLine.split(' ').slice(1, 3).join(' ')}"${o.sshTimeoutMs === undefined ? '' : `, timeout_ms: ${o.sshTimeoutMs}`} }`,
          '    proxy:',
          `      allow_map: ${host.allowMap}`,
          `      map_hash_conf: ${host.mapHashConf}`,
          `      access_log: ${host.accessLog}`,
          `      active_window_seconds: ${o.activeWindowSeconds ?? 300}`,
          `      test_command: ${json(host.testCommand)}`,
          `      reload_command: ${json(host.reloadCommand)}`,
          `      generation_command: ${json(host.generationCommand)}`,
          `      pid_file: ${host.pidFile}`,
          '',
        ].join('\n');
      },
      get,
      agent: () => new Agent({ keepAlive: true, maxSockets: 1, ca: certificate }),
      stop,
    };
    return host;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

async function tailFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '(no error log)';
  }
}

/** Waits until the access log has grown past `size` bytes (nginx logs when a request ends). */
export async function waitForLogGrowth(file: string, size: number, timeoutMs = 5_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    if (now > size) return now;
    if (Date.now() > deadline) throw new Error(`${file} did not grow past ${size} bytes in ${timeoutMs} ms`);
    await sleep(10);
  }
}
