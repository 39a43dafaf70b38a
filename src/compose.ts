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
import type { Clock, GatewayDriver, Logger, Store } from './ports.ts';
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
  let ca: Buffer | undefined;
  if (config.directory.ca_file !== undefined) {
    const file = resolveFrom(baseDir, config.directory.ca_file);
    try {
      ca = readFileSync(file);
    } catch (err) {
      throw new AppError('RAC_CONFIG_INVALID', `directory.ca_file: cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
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

/** One driver per configured host, over its own SSH connection with the pinned host key. */
function createGatewayDriver(
  gateway: GatewayConfig,
  baseDir: string,
  store: Store,
  agentSocket: string | undefined,
  bastionLogin: 'jump-only' | 'shell',
): GatewayDriver {
  const privateKey =
    gateway.ssh.private_key_file === undefined
      ? undefined
      : readPrivateFile(gateway, 'ssh.private_key_file', resolveFrom(baseDir, gateway.ssh.private_key_file));
  const passphrase =
    gateway.ssh.passphrase_file === undefined
      ? undefined
      : new Secret(
          readPrivateFile(gateway, 'ssh.passphrase_file', resolveFrom(baseDir, gateway.ssh.passphrase_file))
            .reveal()
            .replace(/\r?\n$/, ''),
        );
  if (gateway.ssh.host_key === undefined) {
    throw new AppError(
      'RAC_CONFIG_INVALID',
      `gateways ${gateway.name}: ssh.host_key is missing (rac trust ${gateway.name})`,
    );
  }
  const shell = createSshShell({
    name: gateway.name,
    host: gateway.ssh.host,
    port: gateway.ssh.port,
    user: gateway.ssh.user,
    privateKey,
    passphrase,
    agent: gateway.ssh.agent ? agentSocket : undefined,
    hostKey: gateway.ssh.host_key,
    connectTimeoutMs: Math.min(gateway.ssh.timeout_ms, 10_000),
    defaultTimeoutMs: gateway.ssh.timeout_ms,
    concurrency: gateway.ssh.concurrency,
  });
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
export function readPrivateFile(gateway: GatewayConfig, key: string, file: string): Secret {
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
