import { AppError } from '../../core/errors.ts';
import type { Plan } from '../../core/plan/plan.ts';
import type { Tier } from '../../core/tiers.ts';
import type { BatchItem, BatchRecord, BatchStatus, BatchStore, ItemOutcome, ItemResult } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** Batches, their runs, and every person's outcome in the directory and on each host. */
export function createBatchStore(ctx: StoreContext): BatchStore {
  const { db, transaction, writeAudit, now } = ctx;
  const store: BatchStore = {
    getBatch(id: string): BatchRecord | null {
      const row = db.prepare('SELECT * FROM batches WHERE id = ?').get(id);
      return row === undefined ? null : toBatch(row);
    },
    getBatchByPlan(planId: string): BatchRecord | null {
      const row = db.prepare('SELECT * FROM batches WHERE plan_id = ?').get(planId);
      return row === undefined ? null : toBatch(row);
    },
    /** The newest unfinished batch made from a roster with this digest: a re-run resumes it. */
    findUnfinishedBatchBySource(digest: string): BatchRecord | null {
      const row = db
        .prepare(
          `SELECT b.* FROM batches b JOIN plans p ON p.id = b.plan_id
           WHERE p.source_digest = ? AND b.status IN ('applying', 'partial') ORDER BY b.seq DESC LIMIT 1`,
        )
        .get(digest);
      return row === undefined ? null : toBatch(row);
    },
    listBatches(limit = 20): BatchRecord[] {
      return db.prepare('SELECT * FROM batches ORDER BY seq DESC LIMIT ?').all(limit).map(toBatch);
    },
    /** Creates the batch with one pending item per person who needs a change, and audits it. */
    createBatch(input: { id: string; plan: Plan; actor: string; rollbackOf?: string | null }): BatchRecord {
      return transaction(() => {
        const at = now();
        db.prepare(
          `INSERT INTO batches (id, plan_id, mode, status, actor, runs, rollback_of, created_at, updated_at)
           VALUES (?, ?, ?, 'applying', ?, 0, ?, ?, ?)`,
        ).run(input.id, input.plan.id, input.plan.mode, input.actor, input.rollbackOf ?? null, at, at);
        const insert = db.prepare(
          `INSERT INTO batch_items (batch_id, seq, uid, dn, action, before_tier, after_tier, before_groups,
             before_ssh_keys, after_ssh_keys, expires, outcome)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
        );
        let seq = 0;
        for (const person of input.plan.people) {
          if (person.action === 'unchanged') continue;
          insert.run(
            input.id,
            seq++,
            person.uid,
            person.dn,
            person.action,
            person.from,
            person.to,
            JSON.stringify(person.observedGroups),
            JSON.stringify(person.observedSshKeys),
            person.setSshKeys === null ? null : JSON.stringify(person.setSshKeys),
            person.expires,
          );
        }
        writeAudit({
          action: 'batch.create',
          actor: input.actor,
          batchId: input.id,
          detail: { plan: input.plan.id, mode: input.plan.mode, items: seq, rollbackOf: input.rollbackOf ?? null },
        });
        return store.getBatch(input.id) as BatchRecord;
      });
    },
    /** Marks the start of one run of a batch (a resumed batch gets run 2, 3, …) and audits it. */
    startRun(batchId: string, actor: string, detail: Record<string, unknown> = {}): number {
      return transaction(() => {
        db.prepare(`UPDATE batches SET runs = runs + 1, status = 'applying', updated_at = ? WHERE id = ?`).run(
          now(),
          batchId,
        );
        const { runs } = db.prepare('SELECT runs FROM batches WHERE id = ?').get(batchId) as { runs: number };
        writeAudit({ action: 'batch.run.start', actor, batchId, detail: { run: runs, ...detail } });
        return runs;
      });
    },
    finishRun(batchId: string, actor: string, status: BatchStatus, detail: Record<string, unknown>): void {
      transaction(() => {
        db.prepare('UPDATE batches SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), batchId);
        writeAudit({ action: 'batch.run.end', actor, batchId, detail: { status, ...detail } });
      });
    },
    getItems(batchId: string): BatchItem[] {
      return db.prepare('SELECT * FROM batch_items WHERE batch_id = ? ORDER BY seq').all(batchId).map(toItem);
    },
    /**
     * Writes the intent before a wave touches the directory (Vault's rule: no change without
     * its audit record).
     */
    recordIntent(batchId: string, actor: string, detail: Record<string, unknown>): void {
      writeAudit({ action: 'ldap.modify.intent', actor, batchId, detail });
    },
    /**
     * Records a wave's verified outcomes, the resulting grants and one audit record per person,
     * in one transaction.
     */
    recordOutcomes(
      batchId: string,
      actor: string,
      results: readonly ItemResult[],
      options: { startedAt?: string } = {},
    ): void {
      if (results.length === 0) return;
      transaction(() => {
        const at = now();
        // A grant supersedes a revocation made before its wave started, never one made during it.
        const clearRevocation = db.prepare('DELETE FROM revocations WHERE uid = ? AND at < ?');
        // Only this wave's items: a batch of N people in waves costs O(N) in all, not O(N²/wave).
        const getItem = db.prepare('SELECT * FROM batch_items WHERE batch_id = ? AND uid = ?');
        const items = new Map<string, BatchItem>();
        for (const r of results) {
          const row = getItem.get(batchId, r.uid);
          if (row !== undefined) items.set(r.uid, toItem(row));
        }
        const setItem = db.prepare(
          'UPDATE batch_items SET outcome = ?, error = ?, applied_at = ? WHERE batch_id = ? AND uid = ?',
        );
        const upsertGrant = db.prepare(
          `INSERT INTO grants (uid, tier, batch_id, expires, granted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(uid) DO UPDATE SET tier = excluded.tier, batch_id = excluded.batch_id,
             expires = excluded.expires, updated_at = excluded.updated_at`,
        );
        const deleteGrant = db.prepare('DELETE FROM grants WHERE uid = ?');
        for (const result of results) {
          const item = items.get(result.uid);
          if (item === undefined)
            throw new AppError('RAC_STORE_UNKNOWN_ITEM', `batch ${batchId} has no item for ${result.uid}`);
          if (item.outcome === 'applied') continue; // never recorded twice
          setItem.run(
            result.outcome,
            result.error ?? null,
            result.outcome === 'applied' ? at : null,
            batchId,
            result.uid,
          );
          if (result.outcome === 'applied') {
            if (item.afterTier === null) deleteGrant.run(result.uid);
            else {
              upsertGrant.run(result.uid, item.afterTier, batchId, item.expires, at, at);
              clearRevocation.run(result.uid, options.startedAt ?? at);
            }
          }
          writeAudit({
            action: result.outcome === 'applied' ? `access.${item.action}` : 'access.failed',
            actor,
            batchId,
            uid: result.uid,
            detail: {
              from: item.beforeTier,
              to: item.afterTier,
              ...(item.afterSshKeys === null ? {} : { sshKeys: item.afterSshKeys.length }),
              ...(result.error ? { error: result.error } : {}),
            },
          });
        }
        db.prepare('UPDATE batches SET updated_at = ? WHERE id = ?').run(at, batchId);
      });
    },
    /** Batches after `batchId` that changed any of `uids`, newest first. */
    laterChanges(batchId: string, uids: readonly string[]): Map<string, string> {
      const batch = store.getBatch(batchId);
      if (batch === null) return new Map();
      const out = new Map<string, string>();
      const query = db.prepare(
        `SELECT i.uid AS uid, b.id AS batch FROM batch_items i JOIN batches b ON b.id = i.batch_id
         WHERE b.seq > ? AND i.uid = ? AND i.outcome = 'applied' ORDER BY b.seq DESC LIMIT 1`,
      );
      for (const uid of uids) {
        const row = query.get(batch.seq, uid) as { uid: string; batch: string } | undefined;
        if (row !== undefined) out.set(uid, row.batch);
      }
      return out;
    },
    /** Outcome of a batch's people on one gateway or bastion ('applied', or 'pending' while it is down). */
    recordSystemOutcomes(
      batchId: string,
      system: string,
      results: ReadonlyArray<{ uid: string; outcome: 'applied' | 'pending' | 'failed'; error?: string | null }>,
      actor: string,
    ): void {
      if (results.length === 0) return;
      transaction(() => {
        const at = now();
        const upsert = db.prepare(
          `INSERT INTO batch_item_systems (batch_id, uid, system, outcome, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(batch_id, uid, system) DO UPDATE SET outcome = excluded.outcome, error = excluded.error, updated_at = excluded.updated_at`,
        );
        const before = new Map(
          (
            db
              .prepare('SELECT uid, outcome FROM batch_item_systems WHERE batch_id = ? AND system = ?')
              .all(batchId, system) as {
              uid: string;
              outcome: string;
            }[]
          ).map((r) => [r.uid, r.outcome]),
        );
        let applied = 0;
        for (const r of results) {
          if (before.get(r.uid) === 'applied') continue; // never recorded twice
          upsert.run(batchId, r.uid, system, r.outcome, r.error ?? null, at);
          if (r.outcome === 'applied') applied++;
        }
        const pending = results.filter((r) => r.outcome !== 'applied').length;
        writeAudit({ action: 'system.apply', actor, batchId, detail: { system, applied, notApplied: pending } });
      });
    },
    getSystemOutcomes(batchId: string): Array<{ uid: string; system: string; outcome: string; error: string | null }> {
      return db
        .prepare('SELECT uid, system, outcome, error FROM batch_item_systems WHERE batch_id = ? ORDER BY system, uid')
        .all(batchId) as Array<{ uid: string; system: string; outcome: string; error: string | null }>;
    },
    setBatchStatus(batchId: string, status: BatchStatus): void {
      db.prepare('UPDATE batches SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), batchId);
    },
    /** How long each finished batch took, from its creation to its last update (all its runs). */
    batchSeconds(): Array<{ mode: string; status: string; seconds: number }> {
      return (
        db.prepare("SELECT mode, status, created_at, updated_at FROM batches WHERE status != 'applying'").all() as {
          mode: string;
          status: string;
          created_at: string;
          updated_at: string;
        }[]
      ).map((r) => ({
        mode: r.mode,
        status: r.status,
        seconds: Math.max(0, (Date.parse(r.updated_at) - Date.parse(r.created_at)) / 1000),
      }));
    },
  };
  return store;
}

function toBatch(row: unknown): BatchRecord {
  const r = row as Record<string, unknown>;
  return {
    seq: Number(r['seq']),
    id: String(r['id']),
    planId: String(r['plan_id']),
    mode: r['mode'] as Plan['mode'],
    status: r['status'] as BatchStatus,
    actor: String(r['actor']),
    runs: Number(r['runs']),
    rollbackOf: (r['rollback_of'] as string | null) ?? null,
    createdAt: String(r['created_at']),
    updatedAt: String(r['updated_at']),
  };
}

function toItem(row: unknown): BatchItem {
  const r = row as Record<string, unknown>;
  return {
    batchId: String(r['batch_id']),
    seq: Number(r['seq']),
    uid: String(r['uid']),
    dn: String(r['dn']),
    action: String(r['action']),
    beforeTier: (r['before_tier'] as Tier | null) ?? null,
    afterTier: (r['after_tier'] as Tier | null) ?? null,
    beforeGroups: JSON.parse(String(r['before_groups'])) as Tier[],
    beforeSshKeys: JSON.parse(String(r['before_ssh_keys'])) as string[],
    afterSshKeys: r['after_ssh_keys'] === null ? null : (JSON.parse(String(r['after_ssh_keys'])) as string[]),
    expires: (r['expires'] as string | null) ?? null,
    outcome: r['outcome'] as ItemOutcome,
    error: (r['error'] as string | null) ?? null,
    appliedAt: (r['applied_at'] as string | null) ?? null,
  };
}
