import { readFileSync } from 'node:fs';
import { type LoadedConfig, resolveFrom } from '../../config/load.ts';
import { isLoopbackHost } from '../../config/loopback.ts';
import type { Config } from '../../config/schema.ts';
import { AppError } from '../../core/errors.ts';

/** http.tls's certificate and key, read once at start (a bad path is a config error). */
export function readServiceTls(loaded: LoadedConfig): { cert: Buffer; key: Buffer } | null {
  const tls = loaded.config.http.tls;
  if (tls === undefined) return null;
  const read = (field: 'cert' | 'key') => {
    const file = resolveFrom(loaded.baseDir, tls[field]);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new AppError('RAC_CONFIG_INVALID', `http.tls.${field}: cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  return { cert: read('cert'), key: read('key') };
}

/**
 * Directory passwords travel through the portal's login form: without TLS it may only listen on
 * loopback (behind a TLS-terminating proxy on the same host); anything else refuses to start.
 */
export function assertPortalExposure(config: Config, host: string, tls: boolean): void {
  if (!config.http.portal || tls || isLoopbackHost(host)) return;
  throw new AppError(
    'RAC_CONFIG_INVALID',
    `http.listen ${host}: the portal (/me) takes directory passwords, so without http.tls it listens on loopback only; set http.tls (cert, key), listen on 127.0.0.1, or set http.portal: false`,
  );
}
