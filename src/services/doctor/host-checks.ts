import type { GatewayConfig } from '../../config/schema.ts';
import type { Finding } from '../../core/doctor/findings.ts';
import type { RemoteShell } from '../../ports.ts';
import type { DoctorHost } from './ports.ts';
import { codeOf, make, messageOf } from './support.ts';

export interface HostContext {
  readonly host: DoctorHost;
  readonly gateway: GatewayConfig;
  readonly shell: RemoteShell;
  readonly timeoutMs: number;
  /** argv as root: itself when logged in as root, through `sudo -n` where sudo works, else as is. */
  privileged(argv: readonly string[]): readonly string[];
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
    const privilege = await checkRootOrSudo(host, login.shell, login.uid);
    out.push(privilege.finding);
    const ctx: HostContext = {
      host,
      gateway: host.gateway,
      shell: login.shell,
      timeoutMs: Math.min(host.gateway.ssh.timeout_ms, 15_000),
      privileged: (argv) => (privilege.viaSudo ? ['sudo', '-n', '--', ...argv] : argv),
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

async function checkRootOrSudo(
  host: DoctorHost,
  shell: RemoteShell,
  uid: number,
): Promise<{ finding: Finding; viaSudo: boolean }> {
  const { name, ssh } = host.gateway;
  if (uid === 0) return { finding: make('host.privilege', name, 'ok', `${ssh.user} is root`), viaSudo: false };
  const r = await shell
    .exec(['sudo', '-n', 'true'], { timeoutMs: Math.min(ssh.timeout_ms, 15_000) })
    .catch((err: unknown) => ({ code: -1, stderr: messageOf(err) }));
  if (r.code === 0)
    return {
      finding: make('host.privilege', name, 'ok', `${ssh.user} may use sudo without a password`),
      viaSudo: true,
    };
  return {
    finding: make(
      'host.privilege',
      name,
      'fail',
      r.code === 127
        ? `${ssh.user} is not root and sudo is not installed on ${name}`
        : `${ssh.user} is not root and sudo -n true fails (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`,
      `give ${ssh.user} password-less sudo on ${name} for the commands rac runs (a rule in /etc/sudoers.d, checked with visudo -cf), or manage the host as root`,
    ),
    viaSudo: false,
  };
}
