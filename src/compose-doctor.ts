import { withManagement } from './adapters/gateways/openvpn/management.ts';
import { becomeOf, callArgv, hostCalls, hostCallTable, programDigest } from './adapters/host-programs/index.ts';
import { createDirectoryProbe } from './adapters/ldap/directory-probe.ts';
import { parseHostKeyPin, scanHostKey } from './adapters/ssh/ssh-shell.ts';
import { openGatewayShell, readDirectoryCa } from './compose.ts';
import type { LoadedConfig } from './config/load.ts';
import type { GatewayConfig } from './config/schema.ts';
import { AppError } from './core/errors.ts';
import type { RemoteShell } from './ports.ts';
import type { DoctorDeps, DoctorHost } from './services/doctor/ports.ts';

/** Connect and handshake budget of the doctor's SSH and LDAP steps: a dead host must not hold it long. */
const DOCTOR_CONNECT_TIMEOUT_MS = 10_000;

/** The real directory and hosts for `rac doctor`, from config. Nothing is connected until a check runs. */
export function composeDoctor(loaded: LoadedConfig): DoctorDeps & { close(): Promise<void> } {
  const { config, baseDir } = loaded;
  const ca = readDirectoryCa(loaded);
  const directory = createDirectoryProbe({
    url: config.directory.url,
    bindDn: config.directory.bind_dn,
    bindPassword: loaded.secrets.directoryBindPassword,
    starttls: config.directory.starttls,
    ca,
    timeoutMs: Math.min(config.directory.timeout_ms, DOCTOR_CONNECT_TIMEOUT_MS),
  });
  const hosts = config.gateways.map((gateway) => doctorHost(gateway, baseDir, loaded.sshAgentSocket));
  return {
    config,
    directory,
    hosts,
    async close() {
      await directory.close();
      await Promise.all(hosts.map((h) => h.close().catch(() => undefined)));
    },
  };
}

function doctorHost(gateway: GatewayConfig, baseDir: string, agentSocket: string | undefined): DoctorHost {
  const { ssh } = gateway;
  const timeoutMs = Math.min(ssh.timeout_ms, DOCTOR_CONNECT_TIMEOUT_MS);
  let shell: RemoteShell | null = null;
  const open = (): RemoteShell => {
    if (shell !== null) return shell;
    const opened = openGatewayShell(gateway, baseDir, agentSocket);
    shell = opened;
    return opened;
  };
  return {
    gateway,
    scanHostKey: () => scanHostKey(ssh.host, ssh.port, timeoutMs),
    pinnedFingerprint: () =>
      ssh.host_key === undefined ? null : parseHostKeyPin(ssh.host_key, gateway.name).fingerprint,
    shell: open,
    runAsRoot(name, options) {
      const call = hostCallTable(gateway)[name];
      if (call === undefined)
        throw new AppError('RAC_HOST_PROGRAM', `${gateway.name}: no call ${name} on a ${gateway.kind} host`);
      return open().exec(callArgv(call, becomeOf(gateway)), options);
    },
    rootCalls() {
      return hostCalls(gateway).map((call) => ({
        name: call.program.name,
        path: `${ssh.helpers_dir}/${call.program.name}`,
        sha256: programDigest(call.program),
        args: call.args,
      }));
    },
    async management(command) {
      const socket = gateway.openvpn?.management;
      if (socket === undefined) throw new AppError('RAC_CONFIG_INVALID', `${gateway.name}: no openvpn.management`);
      return withManagement(open(), socket, timeoutMs, (m) => m.single(command));
    },
    async close() {
      const s = shell;
      shell = null;
      await s?.close();
    },
  };
}
