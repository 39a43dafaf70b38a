/**
 * Typings for the xk6 LDAP extension (github.com/kressnick25/xk6-ldap, Apache-2.0), written from
 * its Go source (ldap.go, v0.4.x): the module is stateless, every call is synchronous and a Go
 * error becomes a thrown exception. Go struct fields reach JS snake_cased (k6
 * js/common/bridge.go FieldName): Entry.DN is `dn`, EntryAttribute.ByteValues is `byte_values`.
 * Built against k6 v1 (go.k6.io/k6 v1.x): it does not register in a k6 v2 binary.
 */
declare module 'k6/x/ldap' {
  export interface DialOptions {
    /** Skips certificate and host name checks of ldaps:// (never in production). */
    insecureSkipTlsVerify?: boolean;
  }

  export type SearchScope = 'BaseObject' | 'SingleLevel' | 'WholeSubtree';

  export interface SearchRequest {
    /** Default `*`. */
    filter?: string;
    baseDn?: string;
    /** [] for all attributes. */
    attributes?: string[];
    /** Default WholeSubtree; any other string also means WholeSubtree. */
    scope?: SearchScope;
    /** 0 for no limit. Must be an integer (the extension rejects floats). */
    sizeLimit?: number;
    /** Seconds; 0 for no limit. */
    timeLimit?: number;
    derefAliases?: number;
    typesOnly?: boolean;
  }

  export interface EntryAttribute {
    name: string;
    values: string[];
    byte_values: ArrayBuffer[];
  }

  export interface Entry {
    dn: string;
    attributes: EntryAttribute[];
  }

  export interface SearchResult {
    entries: Entry[];
    referrals: string[];
  }

  export interface ModifyPatch {
    operation: 'add' | 'replace' | 'increment' | 'delete';
    field: string;
    value?: string;
  }

  /** One LDAP connection (go-ldap Conn); not shared between VUs. */
  export interface Conn {
    /** Simple bind; throws on invalid credentials or a dead connection. */
    bind(dn: string, password: string): void;
    search(request: SearchRequest): SearchResult;
    add(dn: string, attributes: Record<string, string[]>): void;
    del(dn: string): void;
    modify(dn: string, patches: ModifyPatch[]): void;
    close(): void;
  }

  export interface Ldap {
    /** ldap://host:port or ldaps://host:port; throws when the server cannot be reached. */
    dialURL(url: string, options?: DialOptions): Conn;
    /** RFC 4515 escaping of a value for a search filter. */
    escapeFilter(value: string): string;
  }

  const ldap: Ldap;
  export default ldap;
}
