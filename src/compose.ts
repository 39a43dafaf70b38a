import { readFileSync, statSync } from 'node:fs';
import { createBastionDriver } from './adapters/gateways/bastion/driver.ts';
import { createOpenVpnDriver } from './adapters/gateways/openvpn/driver.ts';
import { createProxyDriver } from './adapters/gateways/proxy/driver.ts';
import { createWireGuardDriver } from './adapters/gateways/wireguard/driver.ts';
import { becomeOf } from './adapters/host-programs/index.ts';
import { createLdapDirectory } from './adapters/ldap/directory.ts';
import { createLogger } from './adapters/log/pino-logger.ts';
import { createSshShell } from './adapters/ssh/ssh-shell.ts';
import { openStore } from './adapters/store/sqlite-store.ts';
import { type LoadedConfig, resolveFrom } from './config/load.ts';
import { loadPolicy } from './config/policy.ts';
import type { GatewayConfig, OpenVpnConfig, ProxyConfig, WireGuardConfig } from './config/schema.ts';
import { AppError } from './core/errors.ts';
import type { Policy } from './core/policy.ts';
import { Secret } from './core/secret.ts';
import type { Clock, GatewayDriver, Logger, RemoteShell, Store } from './ports.ts';
import { currentCapacityLimit } from './services/capacity-limit.ts';
import type { ServiceDeps } from './services/deps.ts';

export interface Services extends ServiceDeps, AsyncDisposable {
  close(): Promise<void>;
}

/** Builds the real adapters from config, for the CLI and the HTTP service alike. */
export function composeServices(
  loaded: LoadedConfig,
  options: {
    actor: string;
    /** Why (--reason): stored with every audit record of this process. */
    reason?: string | null;
    logger?: Logger;
    logLevel?: string;
    clock?: Clock;
  },
): Services {
  const { config, baseDir } = loaded;
  const logger = options.logger ?? createLogger(options.logLevel ?? 'warn');
  for (const warning of loaded.warnings) logger.warn({}, warning);
  const ca = readDirectoryCa(loaded);
  const directory = createLdapDirectory({
    url: config.directory.url,
    bindDn: config.directory.bind_dn,
    bindPassword: loaded.secrets.directoryBindPassword,
    usersBase: config.directory.users_base,
    groups: config.directory.groups,
    uidAttribute: config.directory.uid_attribute,
    attributes: {
      department: listOf(config.directory.attributes.department),
      title: listOf(config.directory.attributes.title),
    },
    timeoutMs: config.directory.timeout_ms,
    pageSize: config.directory.page_size,
    starttls: config.directory.starttls,
    ...(ca === undefined ? {} : { ca }),
  });
  const store = openStore(resolveFrom(baseDir, config.store), { reason: options.reason ?? null });
  const gateways = config.gateways.map((gateway) =>
    createGatewayDriver(gateway, baseDir, store, loaded.sshAgentSocket, config.bastion.login),
  );
  let policy: Policy | null = null;
  const close = async () => {
    await directory.close();
    await Promise.all(gateways.map((g) => g.close().catch(() => undefined)));
    store.close();
  };
  return {
    directory,
    gateways,
    store,
    config,
    clock: options.clock ?? { now: () => new Date() },
    logger,
    actor: options.actor,
    policy: () => {
      policy ??= loadPolicy(resolveFrom(baseDir, config.policy));
      return policy;
    },
    capacityLimit: () => currentCapacityLimit(config, store),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The CA that signed the directory's certificate (directory.ca_file), if one is configured. */
export function readDirectoryCa({ config, baseDir }: LoadedConfig): Buffer | undefined {
  if (config.directory.ca_file === undefined) return undefined;
  const file = resolveFrom(baseDir, config.directory.ca_file);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError('RAC_CONFIG_INVALID', `directory.ca_file: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * A host's SSH connection as configured: its client key (or ssh-agent), the pinned host key, the
 * time limits. Nothing is connected until the first call.
 */
export function openGatewayShell(
  gateway: GatewayConfig,
  baseDir: string,
  agentSocket: string | undefined,
): RemoteShell & AsyncDisposable {
  const { ssh } = gateway;
  const privateKey =
    ssh.private_key_file === undefined
      ? undefined
      : readPrivateFile(gateway, 'ssh.private_key_file', resolveFrom(baseDir, ssh.private_key_file));
  const passphrase =
    ssh.passphrase_file === undefined
      ? undefined
      : new Secret(
          readPrivateFile(gateway, 'ssh.passphrase_file', resolveFrom(baseDir, ssh.passphrase_file))
            .reveal()
            .replace(/\r?\n$/, ''),
        );
  if (ssh.host_key === undefined) {
    throw new AppError(
      'RAC_CONFIG_INVALID',
      `gateways ${gateway.name}: ssh.host_key is missing (rac trust ${gateway.name})`,
    );
  }
  return createSshShell({
    name: gateway.name,
    host: ssh.host,
    port: ssh.port,
    user: ssh.user,
    privateKey,
    passphrase,
    agent: ssh.agent ? agentSocket : undefined,
    hostKey: ssh.host_key,
    connectTimeoutMs: Math.min(ssh.timeout_ms, SSH_CONNECT_TIMEOUT_MS),
    defaultTimeoutMs: ssh.timeout_ms,
    concurrency: ssh.concurrency,
  });
}

/** TCP connect, handshake and authentication of a host: a dead host must not hold a command long. */
const SSH_CONNECT_TIMEOUT_MS = 10_000;

/** One driver per configured host, over its own SSH connection with the pinned host key. */
function createGatewayDriver(
  gateway: GatewayConfig,
  baseDir: string,
  store: Store,
  agentSocket: string | undefined,
  bastionLogin: 'jump-only' | 'shell',
): GatewayDriver {
  const shell = openGatewayShell(gateway, baseDir, agentSocket);
  const become = becomeOf(gateway);
  switch (gateway.kind) {
    case 'openvpn':
      return createOpenVpnDriver({
        name: gateway.name,
        shell,
        become,
        openvpn: gateway.openvpn as OpenVpnConfig,
        timeoutMs: gateway.ssh.timeout_ms,
      });
    case 'bastion':
      return createBastionDriver({
        name: gateway.name,
        shell,
        become,
        timeoutMs: gateway.ssh.timeout_ms,
        adminUser: gateway.ssh.user,
        login: bastionLogin,
      });
    case 'wireguard':
      return createWireGuardDriver({
        name: gateway.name,
        shell,
        become,
        wireguard: gateway.wireguard as WireGuardConfig,
        timeoutMs: gateway.ssh.timeout_ms,
        keyOwners: () => new Map([...store.wireguard.listKeys()].map(([uid, k]) => [k.publicKey, uid])),
      });
    case 'proxy':
      return createProxyDriver({
        name: gateway.name,
        shell,
        become,
        proxy: gateway.proxy as ProxyConfig,
        timeoutMs: gateway.ssh.timeout_ms,
      });
    default:
      throw new AppError('RAC_CONFIG_INVALID', `gateways ${gateway.name}: kind ${gateway.kind} is not supported yet`);
  }
}

function listOf(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

/** A key or passphrase file, refused when group or others may read it (as ssh refuses a key). */
function readPrivateFile(gateway: GatewayConfig, key: string, file: string): Secret {
  try {
    const mode = statSync(file).mode;
    if ((mode & 0o077) !== 0)
      throw new AppError(
        'RAC_CONFIG_INVALID',
        `gateways ${gateway.name}: ${key}: ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
      );
    return new Secret(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(
      'RAC_CONFIG_INVALID',
      `gateways ${gateway.name}: ${key}: cannot read ${file}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
