import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface PortalSession {
  readonly uid: string;
  readonly csrf: string;
  readonly expiresAt: number;
}

const MAX_SESSIONS = 20_000;

/**
 * Portal sessions, in memory: a random id in an HttpOnly cookie, the person's uid and a CSRF
 * token. No password is kept anywhere; a restart signs everyone out, which costs one login.
 */
export function createPortalSessions(options: { ttlMs: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, PortalSession>();
  const sweep = () => {
    const t = now();
    for (const [id, s] of sessions) if (s.expiresAt <= t) sessions.delete(id);
  };
  return {
    create(uid: string): { id: string; session: PortalSession } {
      if (sessions.size >= MAX_SESSIONS) sweep();
      const id = randomBytes(32).toString('base64url');
      const session = { uid, csrf: randomBytes(32).toString('base64url'), expiresAt: now() + options.ttlMs };
      sessions.set(id, session);
      return { id, session };
    },
    get(id: string | undefined): PortalSession | null {
      if (id === undefined) return null;
      const s = sessions.get(id);
      if (s === undefined) return null;
      if (s.expiresAt <= now()) {
        sessions.delete(id);
        return null;
      }
      return s;
    },
    delete(id: string | undefined): void {
      if (id !== undefined) sessions.delete(id);
    },
  };
}

export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of two tokens (false for absent or different lengths). */
export function sameToken(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
