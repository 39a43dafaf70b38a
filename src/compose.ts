import { readFileSync } from 'node:fs';
import { createBastionDriver } from './adapters/gateways/bastion/driver.ts';
import { createOpenVpnDriver } from './adapters/gateways/openvpn/driver.ts';
import { createProxyDriver } from './adapters/gateways/proxy/driver.ts';
import { createLdapDirectory } from './adapters/ldap/directory.ts';
import { createLogger } from './adapters/log/pino-logger.ts';
import { createSshShell } from './adapters/ssh/ssh-shell.ts';
import { openStore } from './adapters/store/sqlite-store.ts';
import { type LoadedConfig, resolveFrom } from './config/load.ts';
import { loadPolicy } from './config/policy.ts';
import type { GatewayConfig, OpenVpnConfig, ProxyConfig } from './config/schema.ts';
import { AppError } from './core/errors.ts';
import type { Policy } from './core/policy.ts';
import { Secret } from './core/secret.ts';
import type { GatewayDriver, Logger } from './ports.ts';
import { currentCapacityLimit } from './services/capacity-limit.ts';
import type { ServiceDeps } from './services/deps.ts';

export interface Services extends ServiceDeps, AsyncDisposable {
  close(): Promise<void>;
}

/** Builds the real adapters from config, for the CLI and the HTTP service alike. */
export function composeServices(
  loaded: LoadedConfig,
  options: { actor: string; logger?: Logger; logLevel?: string; betweenPhases?: () => void },
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
    timeoutMs: config.directory.timeout_ms,
    pageSize: config.directory.page_size,
    starttls: config.directory.starttls,
    ...(ca === undefined ? {} : { ca }),
  });
  const store = openStore(resolveFrom(baseDir, config.store));
  const gateways = config.gateways.map((gateway) => createGatewayDriver(gateway, baseDir));
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
    clock: { now: () => new Date() },
    logger,
    actor: options.actor,
    policy: () => {
      policy ??= loadPolicy(resolveFrom(baseDir, config.policy));
      return policy;
    },
    capacityLimit: () => currentCapacityLimit(config, store),
    ...(options.betweenPhases === undefined ? {} : { betweenPhases: options.betweenPhases }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** One driver per configured host, over its own SSH connection with the pinned host key. */
function createGatewayDriver(gateway: GatewayConfig, baseDir: string): GatewayDriver {
  const keyFile = resolveFrom(baseDir, gateway.ssh.private_key_file);
  let privateKey: Secret;
  try {
    privateKey = new Secret(readFileSync(keyFile, 'utf8'));
  } catch (err) {
    throw new AppError(
      'RAC_CONFIG_INVALID',
      `gateways ${gateway.name}: ssh.private_key_file: cannot read ${keyFile}: ${(err as Error).message}`,
      { cause: err },
    );
  }
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
    hostKey: gateway.ssh.host_key,
    connectTimeoutMs: Math.min(gateway.ssh.timeout_ms, 10_000),
    defaultTimeoutMs: gateway.ssh.timeout_ms,
    concurrency: gateway.ssh.concurrency,
  });
  switch (gateway.kind) {
    case 'openvpn':
      return createOpenVpnDriver({
        name: gateway.name,
        shell,
        openvpn: gateway.openvpn as OpenVpnConfig,
        timeoutMs: gateway.ssh.timeout_ms,
      });
    case 'bastion':
      return createBastionDriver({
        name: gateway.name,
        shell,
        timeoutMs: gateway.ssh.timeout_ms,
        adminUser: gateway.ssh.user,
      });
    case 'proxy':
      return createProxyDriver({
        name: gateway.name,
        shell,
        proxy: gateway.proxy as ProxyConfig,
        timeoutMs: gateway.ssh.timeout_ms,
      });
    default:
      throw new AppError('RAC_CONFIG_INVALID', `gateways ${gateway.name}: kind ${gateway.kind} is not supported yet`);
  }
}
