import type { SQLInputValue } from 'node:sqlite';
import type { AuditEntry, AuditRecord, AuditStore } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** The append-only audit log: written by every aggregate, read here. */
export function createAuditStore(ctx: StoreContext): AuditStore {
  const { db, writeAudit } = ctx;
  const store: AuditStore = {
    audit(entry: AuditEntry): void {
      writeAudit(entry);
    },
    /** Audit records, oldest first; at most `limit` (default 1000) — the newest ones with `newest`. */
    listAudit(
      filter: { batchId?: string; uid?: string; action?: string; limit?: number; newest?: boolean } = {},
    ): AuditRecord[] {
      const where: string[] = [];
      const args: SQLInputValue[] = [];
      if (filter.batchId !== undefined) {
        where.push('batch_id = ?');
        args.push(filter.batchId);
      }
      if (filter.uid !== undefined) {
        where.push('uid = ?');
        args.push(filter.uid);
      }
      if (filter.action !== undefined) {
        where.push('action = ?');
        args.push(filter.action);
      }
      const order = filter.newest === true ? 'DESC' : 'ASC';
      const sql = `SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT ?`;
      const rows = db.prepare(sql).all(...args, filter.limit ?? 1000);
      if (filter.newest === true) rows.reverse();
      return rows.map(toAuditRecord);
    },
    /**
     * Audit records the exporter counts (revocations, provisioning operations), newer than
     * `afterId`, oldest first, at most `limit`: each collection cycle reads only what is new (the
     * primary key bounds the scan), never the whole log.
     */
    auditEventsAfter(afterId: number, limit = 10_000): Array<{ id: number; action: string; detail: string }> {
      return db
        .prepare(
          `SELECT id, action, detail FROM audit WHERE id > ?
             AND (action LIKE 'access.%' OR action IN ('revoke.verified', 'system.apply', 'directory.unusable'))
           ORDER BY id LIMIT ?`,
        )
        .all(afterId, limit) as Array<{ id: number; action: string; detail: string }>;
    },
  };
  return store;
}

/** One row of the audit table as an AuditRecord. */
export function toAuditRecord(row: unknown): AuditRecord {
  const r = row as Record<string, unknown>;
  return {
    id: Number(r['id']),
    at: String(r['at']),
    actor: String(r['actor']),
    action: String(r['action']),
    batchId: (r['batch_id'] as string | null) ?? null,
    uid: (r['uid'] as string | null) ?? null,
    detail: JSON.parse(String(r['detail'])) as Record<string, unknown>,
    reason: (r['reason'] as string | null) ?? null,
  };
}
