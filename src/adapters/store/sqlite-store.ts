import { closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError } from '../../core/errors.ts';
import type {
  AuditEntry,
  AuditRecord,
  BatchItem,
  BatchRecord,
  BatchStatus,
  CapacityCheckRecord,
  GrantRecord,
  ItemOutcome,
  ItemResult,
  LockHandle,
  Store,
} from '../../ports.ts';
import { createActivityStore } from './activity-store.ts';
import { createAuditStore } from './audit-store.ts';
import { createBatchStore } from './batches-store.ts';
import { createCapacityStore } from './capacity-store.ts';
import { createGrantStore } from './grants-store.ts';
import { createLockStore } from './locks-store.ts';
import { MIGRATIONS } from './migrations.ts';
import { createPlanStore } from './plans-store.ts';
import { createServiceStore } from './service-store.ts';
import { createTopologyStore } from './topology-store.ts';
import { createWireGuardStore } from './wireguard-store.ts';

export type {
  AuditEntry,
  AuditRecord,
  BatchItem,
  BatchRecord,
  BatchStatus,
  CapacityCheckRecord,
  GrantRecord,
  ItemOutcome,
  ItemResult,
  LockHandle,
  Store,
};

/**
 * The state store: one SQLite file, WAL with synchronous=FULL (a committed transaction
 * survives power loss), versioned migrations, an append-only audit table.
 */
export function openStore(path: string, options: { now?: () => Date; reason?: string | null } = {}): Store {
  const now = () => (options.now ?? (() => new Date()))().toISOString();
  if (path !== ':memory:') {
    // Plans, grants and the audit log are nobody else's business: 0700/0600 whatever the umask.
    // SQLite creates the -wal and -shm files with the database file's mode.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'a', 0o600);
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  }
  const db = new DatabaseSync(path);
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;',
  );
  migrate(db);

  const transaction = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  };

  const insertAudit = db.prepare(
    'INSERT INTO audit (at, actor, action, batch_id, uid, detail, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  /** Every record of this process carries the reason its operator gave (--reason), if any. */
  const reason = options.reason ?? null;
  const writeAudit = (entry: AuditEntry) => {
    insertAudit.run(
      now(),
      entry.actor,
      entry.action,
      entry.batchId ?? null,
      entry.uid ?? null,
      JSON.stringify(entry.detail ?? {}),
      reason,
    );
  };

  const ctx = { db, transaction, writeAudit, now };
  const store: Store = {
    path,
    wireguard: createWireGuardStore(ctx),
    topologies: createTopologyStore(ctx),
    service: createServiceStore(ctx),
    close(): void {
      db.close();
    },
    ...createPlanStore(ctx),
    ...createBatchStore(ctx),
    ...createGrantStore(ctx),
    ...createAuditStore(ctx),
    ...createLockStore(ctx),
    ...createActivityStore(ctx),
    ...createCapacityStore(ctx),
  };
  return store;
}

function migrate(db: DatabaseSync): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const latest = Math.max(0, ...applied);
  const known = Math.max(...MIGRATIONS.map((m) => m.version));
  if (latest > known) {
    throw new AppError(
      'RAC_STORE_TOO_NEW',
      `the store was written by a newer rac (schema ${latest}, this rac knows ${known})`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}
