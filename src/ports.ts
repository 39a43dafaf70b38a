import type { DirectoryPerson, ObservedMemberships } from './core/plan/plan.ts';
import type { Tier } from './core/tiers.ts';

/** The company directory, as the services need it. Implemented over ldapts in adapters/ldap. */
export interface Directory {
  readonly url: string;
  /** People by uid (lower-case keys); uids not found are simply absent from the map. */
  findPeople(uids: readonly string[]): Promise<Map<string, DirectoryPerson>>;
  /** Every member of the three tier groups, as normalised DNs. */
  readMemberships(): Promise<ObservedMemberships>;
  /** One modify of one group with all `dns` (the caller chunks). */
  modifyMembers(tier: Tier, operation: 'add' | 'delete', dns: readonly string[]): Promise<void>;
  replaceSshPublicKeys(dn: string, keys: readonly string[]): Promise<void>;
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
  openUnixSocket(path: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<import('node:stream').Duplex>;
  close(): Promise<void>;
}
