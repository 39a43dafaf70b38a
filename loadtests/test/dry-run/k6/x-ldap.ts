import { bridge } from '../runtime.ts';

/**
 * Stand-in for `k6/x/ldap` (xk6-ldap): the same synchronous API over ldapts against a real
 * directory. Unlike go-ldap's DialURL, ldapts connects on first use, so an unreachable server
 * shows at bind rather than at dialURL; both throw, and the script treats both as a failed login.
 */
function dialURL(url: string, _options?: { insecureSkipTlsVerify?: boolean }) {
  const conn = bridge().call<number>({ kind: 'ldap.dial', url });
  return {
    bind(dn: string, password: string): void {
      bridge().call({ kind: 'ldap.bind', conn, dn, password });
    },
    search(): never {
      throw new Error('dry run: search has no stand-in (the capacity check does not search)');
    },
    add(): never {
      throw new Error('dry run: add has no stand-in');
    },
    del(): never {
      throw new Error('dry run: del has no stand-in');
    },
    modify(): never {
      throw new Error('dry run: modify has no stand-in');
    },
    close(): void {
      bridge().call({ kind: 'ldap.close', conn });
    },
  };
}

/** RFC 4515: the characters go-ldap's EscapeFilter escapes. */
function escapeFilter(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export default { dialURL, escapeFilter };
