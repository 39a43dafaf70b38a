import type { DatabaseSync } from 'node:sqlite';
import type { AuditEntry } from '../../ports.ts';

/** What every part of the SQLite store shares: the database, one write transaction at a time, the audit writer, the clock. */
export interface StoreContext {
  readonly db: DatabaseSync;
  readonly transaction: <T>(fn: () => T) => T;
  readonly writeAudit: (entry: AuditEntry) => void;
  readonly now: () => string;
}
