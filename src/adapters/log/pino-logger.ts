import { pino } from 'pino';
import { secretPaths } from '../../config/schema.ts';
import type { Logger } from '../../ports.ts';

/**
 * The root logger: JSON lines on stderr (stdout belongs to command output and --json). Secret
 * config fields are redacted wherever a config object is logged, at any depth pino supports.
 */
export function createLogger(level: string): Logger {
  const paths = secretPaths().flatMap((p) => [`config.${p}`, `*.${p.split('.').at(-1)}`]);
  return pino(
    {
      level,
      base: null,
      redact: { paths: [...paths, 'password', '*.password', 'bindPassword', '*.bindPassword'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  ) as unknown as Logger;
}
