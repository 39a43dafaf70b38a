import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import type { TokenRecord, TokenRole } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';

export const TOKEN_ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly TokenRole[];
const PREFIX = 'rac_';
const lastTouched = new Map<string, number>();
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** What each role may do: viewer reads, operator changes access, admin manages tokens and topology. */
export function roleAllows(role: TokenRole, needed: TokenRole): boolean {
  return TOKEN_ROLES.indexOf(role) >= TOKEN_ROLES.indexOf(needed);
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * `rac token create`: 32 random bytes, shown once; only their SHA-256 is stored (a token is as
 * strong as a key, so a fast hash is enough and keeps every request cheap).
 */
export function createToken(
  deps: Pick<ServiceDeps, 'store' | 'actor'>,
  input: { name: string; role: string },
): { token: string; record: TokenRecord } {
  if (!NAME.test(input.name))
    throw new AppError('RAC_USAGE_TOKEN_NAME', `token name '${input.name}': letters, digits, . _ @ - (at most 64)`);
  if (!(TOKEN_ROLES as readonly string[]).includes(input.role))
    throw new AppError('RAC_USAGE_TOKEN_ROLE', `role must be one of ${TOKEN_ROLES.join(', ')}, not '${input.role}'`);
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const record = deps.store.service.createToken({
    id: `tok-${randomBytes(4).toString('hex')}`,
    name: input.name,
    role: input.role as TokenRole,
    hash: hashToken(token),
    actor: deps.actor,
  });
  return { token, record };
}

/** The live token a bearer value stands for, or null. The stored hash is compared in constant time. */
export function authenticateToken(deps: Pick<ServiceDeps, 'store'>, presented: string): TokenRecord | null {
  if (!presented.startsWith(PREFIX) || presented.length > 200) return null;
  const hash = hashToken(presented);
  const found = deps.store.service.tokenByHash(hash);
  if (found === null) return null;
  if (!timingSafeEqual(Buffer.from(found.hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  // last_used_at is for people (rac token list): written at most once a minute per token, so a
  // busy client does not pay a durable write on every request.
  const now = Date.now();
  if ((lastTouched.get(found.id) ?? 0) < now - 60_000) {
    lastTouched.set(found.id, now);
    deps.store.service.touchToken(found.id);
  }
  const { hash: _hash, ...record } = found;
  return record;
}
