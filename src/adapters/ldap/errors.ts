import {
  BusyError,
  InsufficientAccessError,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  NoSuchAttributeError,
  NoSuchObjectError,
  ObjectClassViolationError,
  ResultCodeError,
  SizeLimitExceededError,
  TypeOrValueExistsError,
  UnavailableError,
} from 'ldapts';
import { AppError } from '../../core/errors.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);

/** ldapts errors → AppError, at the adapter boundary. Messages never carry the bind password. */
export function toLdapAppError(err: unknown, context: { url: string; operation: string; dn?: string }): AppError {
  if (err instanceof AppError) return err;
  const where = `${context.operation}${context.dn === undefined ? '' : ` on ${context.dn}`} at ${context.url}`;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const make = (c: string, text: string) => new AppError(c, text, { cause: err, details: { url: context.url } });

  if (err instanceof InvalidCredentialsError)
    return make('RAC_LDAP_INVALID_CREDENTIALS', `bind refused (invalid credentials) at ${context.url}`);
  if (err instanceof InsufficientAccessError)
    return make('RAC_LDAP_INSUFFICIENT_ACCESS', `insufficient access: ${where}`);
  if (err instanceof TypeOrValueExistsError) return make('RAC_LDAP_VALUE_EXISTS', `value already present: ${where}`);
  if (err instanceof NoSuchAttributeError) return make('RAC_LDAP_NO_SUCH_VALUE', `value not present: ${where}`);
  if (err instanceof NoSuchObjectError) return make('RAC_LDAP_NO_SUCH_OBJECT', `no such entry: ${where}`);
  if (err instanceof InvalidDNSyntaxError) return make('RAC_LDAP_INVALID_DN', `invalid DN: ${where}`);
  if (err instanceof ObjectClassViolationError) {
    return make(
      'RAC_LDAP_OBJECT_CLASS_VIOLATION',
      `object class violation (${message}): ${where} — groupOfNames needs at least one member; give each tier group a placeholder member`,
    );
  }
  if (err instanceof SizeLimitExceededError)
    return make(
      'RAC_LDAP_SIZE_LIMIT',
      `size limit exceeded: ${where} — give the service account unlimited limits (olcLimits)`,
    );
  if (err instanceof UnavailableError || err instanceof BusyError)
    return make('RAC_LDAP_UNAVAILABLE', `LDAP server ${context.url} unavailable: ${message}`);
  if (err instanceof ResultCodeError) return make('RAC_LDAP_ERROR', `LDAP error ${err.code} (${message}): ${where}`);
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return make('RAC_LDAP_UNAVAILABLE', `LDAP server ${context.url} unreachable (${code}): ${message}`);
  }
  if (
    typeof code === 'string' &&
    (code.startsWith('ERR_TLS') ||
      code.includes('CERT') ||
      code.includes('SELF_SIGNED') ||
      code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  ) {
    return make('RAC_LDAP_TLS', `TLS to ${context.url} failed (${code}): ${message}`);
  }
  if (/timed? ?out/i.test(message))
    return make('RAC_LDAP_TIMEOUT', `LDAP ${context.operation} timed out at ${context.url}: ${message}`);
  if (/connection|socket|closed/i.test(message))
    return make('RAC_LDAP_UNAVAILABLE', `LDAP server ${context.url} connection lost: ${message}`);
  return make('RAC_LDAP_ERROR', `LDAP ${where} failed: ${message}`);
}
