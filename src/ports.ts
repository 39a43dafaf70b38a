import type { DirectoryPerson, ObservedMemberships } from './core/plan/plan.ts';
import type { MemberEntry } from './core/plan/resolve-people.ts';
import type { Tier } from './core/tiers.ts';

/** The company directory, as the services need it. Implemented over ldapts in adapters/ldap. */
export interface Directory {
  readonly url: string;
  /** People by uid (lower-case keys); uids not found are simply absent from the map. */
  findPeople(uids: readonly string[]): Promise<Map<string, DirectoryPerson>>;
  /** Every member of the three tier groups, as normalised DNs. */
  readMemberships(): Promise<ObservedMemberships>;
  /**
   * The entries behind member DNs (keys: normalised DNs), with their uid attribute and keys as
   * stored. DNs outside the users base, and entries that do not exist, are absent.
   */
  resolveMembers(dns: ReadonlySet<string>): Promise<Map<string, MemberEntry>>;
  /** One modify of one group with all `dns` (the caller chunks). */
  modifyMembers(tier: Tier, operation: 'add' | 'delete', dns: readonly string[]): Promise<void>;
  replaceSshPublicKeys(dn: string, keys: readonly string[]): Promise<void>;
  /**
   * The person's own password, checked by a bind as them on a connection of its own (never
   * stored): their DN when it is right, null when the uid is unknown or the password wrong.
   */
  verifyPassword(uid: string, password: string): Promise<{ dn: string } | null>;
  /** Mail addresses by uid (lower-case keys), for the profiles' mail-merge list. */
  findEmails(uids: readonly string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** Five methods, like Backstage's logger port: services never see pino or the console. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child(fields: Record<string, unknown>): Logger;
}

export type { Store } from './adapters/store/sqlite-store.ts';

// ── Gateways and bastions ─────────────────────────────────────────────────────────────────────

export interface ExecOptions {
  /** Bytes for the command's stdin (secrets and bulk data travel here, never in argv). */
  readonly stdin?: string | Uint8Array;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Bound on stdout (default 256 MiB): past it the command is stopped and RAC_SSH_OUTPUT_TOO_LARGE thrown. */
  readonly maxStdoutBytes?: number;
}

export interface ExecResult {
  /** Exit status; a command that was killed by a signal reports 128 + signal number. */
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * A shell on a managed host, over SSH with a pinned host key. Commands are argv arrays, quoted in
 * exactly one place; a non-zero exit is a result, not an error. Connection problems throw
 * AppError RAC_SSH_* (RAC_SSH_HOST_KEY_MISMATCH before any command runs).
 */
export interface RemoteShell {
  /** The managed host's name, for messages. */
  readonly name: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** A stream to a unix socket on the host (OpenSSH stream-local forwarding). */
  openUnixSocket(
    path: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<import('node:stream').Duplex>;
  close(): Promise<void>;
}

export type GatewayKind = 'openvpn' | 'wireguard' | 'bastion' | 'proxy';

/** What one person should have (or has) on one gateway or bastion. */
export interface GatewayGrant {
  readonly uid: string;
  readonly tier: Tier;
  /** OpenVPN: the stable tunnel address. */
  readonly address?: string;
  /** Bastion: the person's OpenSSH public keys. */
  readonly keys?: readonly string[];
  /** Bastion: what the keys let the person do there (bastion.login); 'mixed' when the host has both. */
  readonly login?: 'jump-only' | 'shell' | 'mixed';
  /** WireGuard: the person's public key (the peer). */
  readonly publicKey?: string;
}

export interface ObservedGrants {
  /** Grants present on the host, by uid. */
  readonly grants: ReadonlyMap<string, GatewayGrant>;
  /** Artifacts the host has that rac did not make or cannot read (a hand-written file). */
  readonly foreign: readonly string[];
}

/** The complete desired state of one host: people absent from `desired` lose their access there. */
export interface GatewayChangeSet {
  readonly desired: ReadonlyMap<string, GatewayGrant>;
}

export interface GatewayApplyReport {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: number;
  readonly failed: ReadonlyArray<{ uid: string; error: string }>;
  /** false when the host already matched: nothing was written. */
  readonly wrote: boolean;
}

/** One live session, in the one definition of "connected" (README.md, "One definition of connected"). */
export interface Session {
  readonly gateway: string;
  readonly kind: GatewayKind;
  readonly uid: string;
  /** OpenVPN client id or sshd pid: what disconnect acts on. */
  readonly id: string;
  readonly since: number | null;
  readonly address: string | null;
  /**
   * The tier of access this session uses, when the host knows it (the access proxy: `public`,
   * whatever the person's highest tier). Absent: the person's granted tier.
   */
  readonly tier?: Tier;
}

export interface DisconnectReport {
  readonly disconnected: ReadonlyArray<{ uid: string; sessions: number }>;
  readonly failed: ReadonlyArray<{ uid: string; error: string }>;
}

export interface GatewayHealth {
  readonly up: boolean;
  readonly detail: string;
  readonly latencyMs: number;
}

export interface GatewayDriver {
  readonly name: string;
  readonly kind: GatewayKind;
  probe(signal?: AbortSignal): Promise<GatewayHealth>;
  /** `only`: the people the caller asks about; a driver may return more (never fewer of them). */
  observe(signal?: AbortSignal, options?: { readonly only?: readonly string[] }): Promise<ObservedGrants>;
  apply(changes: GatewayChangeSet, signal?: AbortSignal): Promise<GatewayApplyReport>;
  listSessions(signal?: AbortSignal): Promise<readonly Session[]>;
  disconnect(users: readonly string[], signal?: AbortSignal): Promise<DisconnectReport>;
  /**
   * Optional: takes exactly these people off the host, reading and touching nobody else (for
   * hosts where reading everyone is costly). Without it, revocation applies the host's own state
   * less these people.
   */
  revoke?(uids: readonly string[], signal?: AbortSignal): Promise<GatewayApplyReport>;
  close(): Promise<void>;
}
