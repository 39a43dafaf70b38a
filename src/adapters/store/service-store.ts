import type { SQLInputValue } from 'node:sqlite';
import { AppError } from '../../core/errors.ts';
import type { AuditRecord, HistoryPoint, ServiceBatch, TokenRecord, TokenRole } from '../../ports.ts';
import { toAuditRecord } from './audit-store.ts';
import type { StoreContext } from './store-context.ts';

export type { HistoryPoint, ServiceBatch, TokenRecord, TokenRole };

/** How many history points are kept (one per collector cycle is sampled at most once a minute: 24 h). */
export const HISTORY_LIMIT = 1440;

/**
 * What `rac serve` keeps: API tokens (only a SHA-256 of each: the token itself is shown once),
 * a short bounded capacity history for the capacity page, and the background batches it runs,
 * so a batch stopped by a shutdown is resumed by the next start.
 */
export function createServiceStore(parts: StoreContext) {
  const { db, transaction, writeAudit, now } = parts;
  const toToken = (row: unknown): TokenRecord => {
    const r = row as Record<string, unknown>;
    return {
      id: String(r['id']),
      name: String(r['name']),
      role: r['role'] as TokenRole,
      createdAt: String(r['created_at']),
      createdBy: String(r['created_by']),
      lastUsedAt: (r['last_used_at'] as string | null) ?? null,
      revokedAt: (r['revoked_at'] as string | null) ?? null,
    };
  };
  return {
    createToken(input: { id: string; name: string; role: TokenRole; hash: string; actor: string }): TokenRecord {
      return transaction(() => {
        if (db.prepare('SELECT 1 FROM api_tokens WHERE name = ?').get(input.name) !== undefined)
          throw new AppError('RAC_USAGE_TOKEN_EXISTS', `a token named ${input.name} exists already (rac token list)`);
        db.prepare(
          'INSERT INTO api_tokens (id, name, role, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(input.id, input.name, input.role, input.hash, now(), input.actor);
        writeAudit({
          action: 'token.create',
          actor: input.actor,
          detail: { id: input.id, name: input.name, role: input.role },
        });
        return toToken(db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(input.id));
      });
    },

    /** The live token with this hash (the caller compares in constant time), or null. */
    tokenByHash(hash: string): (TokenRecord & { hash: string }) | null {
      const row = db.prepare('SELECT * FROM api_tokens WHERE hash = ? AND revoked_at IS NULL').get(hash) as
        | Record<string, unknown>
        | undefined;
      return row === undefined ? null : { ...toToken(row), hash: String(row['hash']) };
    },

    touchToken(id: string): void {
      db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now(), id);
    },

    listTokens(): TokenRecord[] {
      return db.prepare('SELECT * FROM api_tokens ORDER BY created_at, name').all().map(toToken);
    },

    revokeToken(nameOrId: string, actor: string): TokenRecord {
      return transaction(() => {
        const row = db
          .prepare('SELECT * FROM api_tokens WHERE (name = ? OR id = ?) AND revoked_at IS NULL')
          .get(nameOrId, nameOrId);
        if (row === undefined)
          throw new AppError('RAC_USAGE_TOKEN_NOT_FOUND', `no live token named ${nameOrId} (rac token list)`);
        const token = toToken(row);
        db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(now(), token.id);
        writeAudit({ action: 'token.revoke', actor, detail: { id: token.id, name: token.name, role: token.role } });
        return { ...token, revokedAt: now() };
      });
    },

    /** One point of the capacity page's history; the oldest beyond HISTORY_LIMIT go. */
    addHistory(point: HistoryPoint): void {
      transaction(() => {
        db.prepare(
          'INSERT OR REPLACE INTO capacity_history (at, sessions, limit_sessions, by_tier) VALUES (?, ?, ?, ?)',
        ).run(point.at, point.sessions, point.limit, JSON.stringify(point.byTier));
        db.prepare(
          'DELETE FROM capacity_history WHERE at NOT IN (SELECT at FROM capacity_history ORDER BY at DESC LIMIT ?)',
        ).run(HISTORY_LIMIT);
      });
    },

    history(since: string): HistoryPoint[] {
      return (
        db.prepare('SELECT * FROM capacity_history WHERE at >= ? ORDER BY at').all(since) as Array<{
          at: string;
          sessions: number;
          limit_sessions: number;
          by_tier: string;
        }>
      ).map((r) => ({
        at: r.at,
        sessions: r.sessions,
        limit: r.limit_sessions,
        byTier: JSON.parse(r.by_tier) as Record<string, number>,
      }));
    },

    /** The audit log, newest first, filtered; `before` (an id) pages back. */
    auditPage(filter: {
      actor?: string;
      action?: string;
      uid?: string;
      batchId?: string;
      since?: string;
      before?: number;
      limit: number;
    }): AuditRecord[] {
      const where: string[] = [];
      const args: SQLInputValue[] = [];
      const add = (sql: string, value: SQLInputValue | undefined) => {
        if (value === undefined) return;
        where.push(sql);
        args.push(value);
      };
      add('actor = ?', filter.actor);
      add('action = ?', filter.action);
      add('uid = ?', filter.uid);
      add('batch_id = ?', filter.batchId);
      add('at >= ?', filter.since);
      add('id < ?', filter.before);
      const rows = db
        .prepare(
          `SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...args, filter.limit);
      return rows.map(toAuditRecord);
    },

    saveServiceBatch(batch: ServiceBatch): void {
      db.prepare(
        `INSERT INTO service_batches (batch_id, plan_id, options, actor, state, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(batch_id) DO UPDATE SET state = excluded.state, options = excluded.options, updated_at = excluded.updated_at`,
      ).run(batch.batchId, batch.planId, JSON.stringify(batch.options), batch.actor, batch.state, now());
    },

    /** Batches the service started and did not finish: stopped by a shutdown or a crash. */
    unfinishedServiceBatches(): ServiceBatch[] {
      return (
        db.prepare("SELECT * FROM service_batches WHERE state != 'finished' ORDER BY updated_at").all() as Array<
          Record<string, string>
        >
      ).map((r) => ({
        batchId: r['batch_id'] as string,
        planId: r['plan_id'] as string,
        options: JSON.parse(r['options'] as string) as ServiceBatch['options'],
        actor: r['actor'] as string,
        state: r['state'] as ServiceBatch['state'],
      }));
    },
  };
}
