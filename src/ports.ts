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
