/**
 * One error type for the whole toolkit. `code` is stable (RAC_<AREA>_<REASON>) and is what the
 * two translators (exit code, HTTP status) look at; `message` is for a person to act on.
 */
export class AppError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Exit codes of the CLI, README.md, "The CLI". */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  inputRejected: 3,
  capacityRefused: 4,
  partialFailure: 5,
  upstreamUnavailable: 6,
  planStale: 7,
  busy: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The one place that maps an error code to a CLI exit code. */
export function exitCodeFor(code: string): ExitCode {
  if (
    code === 'RAC_USAGE' ||
    code.startsWith('RAC_USAGE_') ||
    code.startsWith('RAC_CONFIG_') ||
    code.startsWith('RAC_POLICY_')
  )
    return ExitCode.usage;
  if (code.startsWith('RAC_ROSTER_') || code.startsWith('RAC_CHECK_')) return ExitCode.inputRejected;
  if (code === 'RAC_CAPACITY_REFUSED') return ExitCode.capacityRefused;
  if (code === 'RAC_APPLY_PARTIAL') return ExitCode.partialFailure;
  if (code === 'RAC_PLAN_STALE' || code === 'RAC_PLAN_UNKNOWN') return ExitCode.planStale;
  if (code === 'RAC_LOCKED') return ExitCode.busy;
  if (code === 'RAC_SSH_HOST_KEY_CHANGED') return ExitCode.usage;
  if (code === 'RAC_SSH_HOST_KEY_PIN_INVALID' || code === 'RAC_SSH_PRIVATE_KEY_INVALID') return ExitCode.usage;
  if (
    code === 'RAC_LDAP_UNAVAILABLE' ||
    code === 'RAC_LDAP_TIMEOUT' ||
    code === 'RAC_LDAP_INVALID_CREDENTIALS' ||
    code === 'RAC_LDAP_TLS' ||
    code === 'RAC_GATEWAY_UNAVAILABLE' ||
    code === 'RAC_GATEWAY_TIMEOUT' ||
    code === 'RAC_SSH_UNAVAILABLE' ||
    code === 'RAC_SSH_TIMEOUT' ||
    code === 'RAC_SSH_AUTH' ||
    code === 'RAC_SSH_HOST_KEY_MISMATCH'
  )
    return ExitCode.upstreamUnavailable;
  return ExitCode.unexpected;
}

/** The one place that maps an error code to an HTTP status (the API's translator). */
export function httpStatusFor(code: string): number {
  if (code === 'RAC_AUTH_REQUIRED') return 401;
  if (code === 'RAC_AUTH_FORBIDDEN' || code === 'RAC_AUTH_CSRF') return 403;
  if (code === 'RAC_AUTH_RATE_LIMITED') return 429;
  if (
    code === 'RAC_USAGE_BATCH_NOT_FOUND' ||
    code === 'RAC_USAGE_UNKNOWN_PERSON' ||
    code === 'RAC_USAGE_TOKEN_NOT_FOUND' ||
    code === 'RAC_NOT_FOUND' ||
    code === 'RAC_PLAN_UNKNOWN'
  )
    return 404;
  if (code === 'RAC_LOCKED' || code === 'RAC_PLAN_STALE' || code === 'RAC_USAGE_TOKEN_EXISTS') return 409;
  if (code === 'RAC_CAPACITY_REFUSED' || code === 'RAC_ROSTER_UNKNOWN_PEOPLE') return 422;
  if (code === 'RAC_USAGE_NO_VPN') return 404;
  const exit = exitCodeFor(code);
  if (exit === ExitCode.usage || exit === ExitCode.inputRejected) return 400;
  if (exit === ExitCode.upstreamUnavailable) return 503;
  return 500;
}
