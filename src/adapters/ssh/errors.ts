import { AppError } from '../../core/errors.ts';

/** Where an SSH error happened: the managed host's name and address, never any key material. */
export interface SshErrorContext {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly operation: string;
  /** Fingerprint the host offered in the handshake, when it was rejected. */
  readonly offeredFingerprint?: string;
  /** Fingerprint (or key line's fingerprint) we pinned. */
  readonly pinnedFingerprint?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

export function hostLabel(context: Pick<SshErrorContext, 'name' | 'host' | 'port'>): string {
  const address = context.host.includes(':') ? `[${context.host}]:${context.port}` : `${context.host}:${context.port}`;
  return `${context.name} (${address})`;
}

/** ssh2 errors → AppError, at the adapter boundary. Messages name the host, never a key. */
export function toSshAppError(err: unknown, context: SshErrorContext): AppError {
  if (err instanceof AppError) return err;
  const where = hostLabel(context);
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const level = (err as { level?: unknown } | null)?.level;
  const details: Record<string, unknown> = { host: context.name, address: `${context.host}:${context.port}` };
  const make = (c: string, text: string, extra: Record<string, unknown> = {}) =>
    new AppError(c, text, { cause: err, details: { ...details, ...extra } });

  if (level === 'handshake' && /verification failed/i.test(message)) {
    const offered = context.offeredFingerprint;
    const pinned = context.pinnedFingerprint;
    if (/signature verification/i.test(message)) {
      return make(
        'RAC_SSH_HOST_KEY_MISMATCH',
        `${where} could not prove it holds its host key (handshake signature invalid): refusing to talk to it`,
      );
    }
    return make(
      'RAC_SSH_HOST_KEY_MISMATCH',
      `host key of ${where} does not match the pinned key` +
        (offered === undefined ? '' : `: it offered ${offered}`) +
        (pinned === undefined ? '' : `, pinned ${pinned}`) +
        ' — nothing was sent to it. If the host was rebuilt, check the new key out of band and trust it again (rac trust).',
      { offeredFingerprint: offered, pinnedFingerprint: pinned },
    );
  }
  if (level === 'client-authentication') {
    return make(
      'RAC_SSH_AUTH',
      `${where} refused our key for user authentication (publickey): is the client key in the user's authorized_keys?`,
    );
  }
  if (/keepalive/i.test(message)) {
    return make('RAC_SSH_UNAVAILABLE', `${where} stopped answering SSH keepalives (${context.operation})`);
  }
  if (level === 'client-timeout' || /timed out while waiting for handshake/i.test(message)) {
    return make('RAC_SSH_UNAVAILABLE', `${where} did not complete the SSH handshake in time (${context.operation})`);
  }
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return make('RAC_SSH_UNAVAILABLE', `${where} unreachable during ${context.operation} (${code})`, {
      errno: code,
    });
  }
  if (level === 'client-dns') return make('RAC_SSH_UNAVAILABLE', `${where}: address lookup failed`);
  if (level === 'client-socket' || /no response from server|not connected|connection lost|socket/i.test(message)) {
    return make('RAC_SSH_UNAVAILABLE', `connection to ${where} lost during ${context.operation}: ${message}`);
  }
  if (level === 'handshake' || level === 'protocol') {
    return make('RAC_SSH_PROTOCOL', `SSH handshake with ${where} failed: ${message}`);
  }
  if (/channel open failure/i.test(message)) {
    return make('RAC_SSH_CHANNEL', `${where} refused to open a channel for ${context.operation}: ${message}`);
  }
  if (typeof code === 'number') {
    // An SSH DISCONNECT from the server (code = reason).
    return make('RAC_SSH_UNAVAILABLE', `${where} disconnected during ${context.operation}: ${message}`, {
      reason: code,
    });
  }
  return make('RAC_SSH_ERROR', `SSH ${context.operation} on ${where} failed: ${message}`);
}

/** An exec (or channel open) that ran over its time budget. */
export function sshTimeoutError(
  context: Pick<SshErrorContext, 'name' | 'host' | 'port' | 'operation'>,
  timeoutMs: number,
): AppError {
  return new AppError(
    'RAC_SSH_TIMEOUT',
    `${context.operation} on ${hostLabel(context)} timed out after ${timeoutMs} ms`,
    { details: { host: context.name, address: `${context.host}:${context.port}`, timeoutMs } },
  );
}

export function sshAbortedError(
  context: Pick<SshErrorContext, 'name' | 'host' | 'port' | 'operation'>,
  reason: unknown,
): AppError {
  return new AppError('RAC_SSH_ABORTED', `${context.operation} on ${hostLabel(context)} was aborted`, {
    cause: reason,
    details: { host: context.name, address: `${context.host}:${context.port}` },
  });
}
