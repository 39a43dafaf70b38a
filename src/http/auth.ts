import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.ts';
import type { TokenRecord, TokenRole } from '../ports.ts';
import { authenticateToken, roleAllows } from '../services/api-tokens.ts';
import type { ServiceDeps } from '../services/deps.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token this request presented, once checked (null: none or not valid). */
    token: TokenRecord | null;
  }
}

type Limiter = (
  request: FastifyRequest,
  options?: { increment?: boolean },
) => Promise<{ isAllowed: boolean; isExceeded?: boolean; remaining?: number; ttlInSeconds?: number }>;

export interface AuthLimits {
  /** Failed authentications per address. */
  readonly failed: Limiter;
  /** Requests per token. */
  readonly perToken: Limiter;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function isLoopback(request: FastifyRequest): boolean {
  return LOOPBACK.test(request.socket.remoteAddress ?? '');
}

function rateLimited(ttl: number | undefined): AppError {
  return new AppError('RAC_AUTH_RATE_LIMITED', `too many requests; try again in ${ttl ?? 60} s`);
}

/**
 * Checks the bearer token and the role a route needs. A missing or wrong token counts against
 * the address (failed-auth limit); a good one against the token's own limit.
 */
export function requireRole(
  deps: ServiceDeps,
  limits: AuthLimits,
  role: TokenRole,
  options: { allowLoopback?: () => boolean } = {},
) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (options.allowLoopback?.() === true && isLoopback(request) && request.headers.authorization === undefined)
      return;
    const before = await limits.failed(request, { increment: false });
    // Counted without incrementing: the address has used up its failures when none remain.
    if (!before.isAllowed && (before.isExceeded === true || before.remaining === 0)) {
      void reply.header('retry-after', String(before.ttlInSeconds ?? 60));
      throw rateLimited(before.ttlInSeconds);
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header) : null;
    const token = match?.[1] === undefined ? null : authenticateToken(deps, match[1]);
    if (token === null) {
      await limits.failed(request);
      void reply.header('www-authenticate', 'Bearer realm="rac"');
      throw new AppError(
        'RAC_AUTH_REQUIRED',
        header === undefined ? 'a bearer token is required (rac token create)' : 'the bearer token is not valid',
      );
    }
    request.token = token;
    const used = await limits.perToken(request);
    if (!used.isAllowed && used.isExceeded === true) {
      void reply.header('retry-after', String(used.ttlInSeconds ?? 60));
      throw rateLimited(used.ttlInSeconds);
    }
    if (!roleAllows(token.role, role)) {
      deps.store.audit({
        action: 'api.denied',
        actor: actorOf(request),
        detail: { method: request.method, url: request.routeOptions.url ?? request.url, needs: role },
      });
      throw new AppError('RAC_AUTH_FORBIDDEN', `this needs the ${role} role; token ${token.name} is ${token.role}`);
    }
  };
}

/** Who a request acts as in the audit log: the token's name. */
function actorOf(request: FastifyRequest): string {
  return request.token === null ? 'anonymous' : `token:${request.token.name}`;
}

/** The services as this request's token: every change is audited with its name. */
export function depsFor(deps: ServiceDeps, request: FastifyRequest): ServiceDeps {
  return { ...deps, actor: actorOf(request) };
}
