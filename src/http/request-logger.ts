import { type DestinationStream, type Logger, pino } from 'pino';

/** Keys whose values never reach a log line, at any depth up to MAX_DEPTH below the root. */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'token',
  'csrf',
  'bindPassword',
  'bind_password',
  'privateKey',
  'private_key',
  'passphrase',
] as const;
const MAX_DEPTH = 5;

/**
 * pino's wildcards match one whole path segment, so `*.password` misses `a.b.password`: the paths
 * are spelled out for every depth (and keys with a dash in brackets).
 */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    const segment = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `["${key}"]`;
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      const prefix = '*.'.repeat(depth);
      paths.push(segment.startsWith('[') ? `${prefix.slice(0, -1)}${segment}` : `${prefix}${segment}`);
    }
  }
  return paths.filter((p) => p !== '');
}

/**
 * The service's root logger: JSON lines, one per request (written by the app's onResponse hook),
 * secrets redacted. Request serializers keep method, url and address only: no headers at all.
 */
export function createHttpLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: null,
      redact: { paths: redactPaths(), censor: '[redacted]' },
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
