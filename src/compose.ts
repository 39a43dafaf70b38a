import { readFileSync } from 'node:fs';
import { createLdapDirectory } from './adapters/ldap/directory.ts';
import { createLogger } from './adapters/log/pino-logger.ts';
import { openStore } from './adapters/store/sqlite-store.ts';
import { type LoadedConfig, resolveFrom } from './config/load.ts';
import { loadPolicy } from './config/policy.ts';
import { AppError } from './core/errors.ts';
import type { Policy } from './core/policy.ts';
import type { Logger } from './ports.ts';
import { currentCapacityLimit } from './services/capacity-limit.ts';
import type { ServiceDeps } from './services/deps.ts';

export interface Services extends ServiceDeps, AsyncDisposable {
  close(): Promise<void>;
}

/** Builds the real adapters from config, for the CLI and the HTTP service alike. */
export function composeServices(
  loaded: LoadedConfig,
  options: { actor: string; logger?: Logger; logLevel?: string },
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
  let policy: Policy | null = null;
  const close = async () => {
    await directory.close();
    store.close();
  };
  return {
    directory,
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
    close,
    [Symbol.asyncDispose]: close,
  };
}
