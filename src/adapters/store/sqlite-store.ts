import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { AppError } from '../../core/errors.ts';
import type { Plan, PlannedPerson } from '../../core/plan/plan.ts';
import { digestPlan } from '../../core/plan/serialize-plan.ts';
import type { Tier } from '../../core/tiers.ts';
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
import { MIGRATIONS } from './migrations.ts';
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

  const writeAddresses = (
    gateway: string,
    assignments: ReadonlyMap<string, { tier: 'vpn' | 'vpn-bastion'; address: string }>,
    released: readonly string[],
  ) => {
    const at = now();
    const current = store.getAddresses(gateway);
    const remove = db.prepare('DELETE FROM gateway_addresses WHERE gateway = ? AND uid = ?');
    for (const uid of released) remove.run(gateway, uid);
    // Moves first free the old addresses, so a swap of two people never trips UNIQUE.
    for (const [uid, a] of assignments) {
      const old = current.get(uid);
      if (old !== undefined && (old.address !== a.address || old.tier !== a.tier)) remove.run(gateway, uid);
    }
    const upsert = db.prepare(
      `INSERT INTO gateway_addresses (gateway, uid, tier, address, assigned_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(gateway, uid) DO NOTHING`,
    );
    for (const [uid, a] of assignments) upsert.run(gateway, uid, a.tier, a.address, at);
  };

  const store = {
    path,
    wireguard: createWireGuardStore({ db, transaction, writeAudit, now }),
    topologies: createTopologyStore({ db, transaction, writeAudit, now }),
    service: createServiceStore({ db, transaction, writeAudit, now }),

    close(): void {
      db.close();
    },

    /**
     * Stores a plan once: its header, one row per person, and the digest of its text (see
     * serializePlan), against which apply checks a plan file.
     */
    savePlan(plan: Plan, digest: string = digestPlan(plan)): void {
      if (db.prepare('SELECT 1 FROM plans WHERE id = ?').get(plan.id) !== undefined) return;
      transaction(() => {
        const { people, ...header } = plan;
        db.prepare(
          'INSERT INTO plans (id, created_at, mode, source_digest, digest, header) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(plan.id, plan.createdAt, plan.mode, plan.source.digest, digest, JSON.stringify(header));
        const insert = db.prepare('INSERT INTO plan_people (plan_id, seq, person) VALUES (?, ?, ?)');
        for (const [seq, person] of people.entries()) insert.run(plan.id, seq, JSON.stringify(person));
      });
    },

    getPlan(id: string): Plan | null {
      const row = db.prepare('SELECT header FROM plans WHERE id = ?').get(id) as { header: string } | undefined;
      if (row === undefined) return null;
      const people = (
        db.prepare('SELECT person FROM plan_people WHERE plan_id = ? ORDER BY seq').all(id) as { person: string }[]
      ).map((r) => JSON.parse(r.person) as PlannedPerson);
      return { ...(JSON.parse(row.header) as Omit<Plan, 'people'>), people };
    },

    getPlanDigest(id: string): string | null {
      const row = db.prepare('SELECT digest FROM plans WHERE id = ?').get(id) as { digest: string } | undefined;
      return row?.digest ?? null;
    },

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

    /**
     * Revocations are written before anything is removed, and outrank every batch that started
     * before them: hosts never get these people back until a later batch grants them again.
     */
    recordRevocations(uids: readonly string[], actor: string, reason: string): string {
      const at = now();
      transaction(() => {
        const upsert = db.prepare(
          `INSERT INTO revocations (uid, at, actor, reason) VALUES (?, ?, ?, ?)
           ON CONFLICT(uid) DO UPDATE SET at = excluded.at, actor = excluded.actor, reason = excluded.reason`,
        );
        for (const uid of uids) upsert.run(uid, at, actor, reason);
        writeAudit({ action: 'revoke.intent', actor, detail: { uids, reason } });
      });
      return at;
    },

    /** People revoked and not granted again since, with when, by whom and why. */
    activeRevocations(): Map<string, { at: string; actor: string; reason: string }> {
      const rows = db.prepare('SELECT uid, at, actor, reason FROM revocations').all() as {
        uid: string;
        at: string;
        actor: string;
        reason: string;
      }[];
      return new Map(rows.map((r) => [r.uid, { at: r.at, actor: r.actor, reason: r.reason }]));
    },

    /** Of `uids`, those revoked at or after `since` (a running batch's start). */
    revokedSince(since: string, uids?: readonly string[]): Set<string> {
      const rows = db.prepare('SELECT uid FROM revocations WHERE at >= ?').all(since) as { uid: string }[];
      const out = new Set(rows.map((r) => r.uid));
      if (uids === undefined) return out;
      return new Set(uids.filter((u) => out.has(u)));
    },

    /** Ends rac's record of grants of people who are gone (no longer in the directory), audited. */
    closeGrants(uids: readonly string[], actor: string, reason: string): void {
      transaction(() => {
        const remove = db.prepare('DELETE FROM grants WHERE uid = ?');
        for (const uid of uids) {
          remove.run(uid);
          writeAudit({ action: 'grant.closed', actor, uid, detail: { reason } });
        }
      });
    },

    /** Grants that carry an end date. */
    datedGrants(): Array<{ uid: string; tier: Tier; expires: string }> {
      return db
        .prepare('SELECT uid, tier, expires FROM grants WHERE expires IS NOT NULL ORDER BY expires, uid')
        .all() as Array<{ uid: string; tier: Tier; expires: string }>;
    },

    getGrant(uid: string): GrantRecord | null {
      const row = db.prepare('SELECT * FROM grants WHERE uid = ?').get(uid);
      return row === undefined ? null : toGrant(row);
    },

    listGrants(): Map<string, Tier> {
      const rows = db.prepare('SELECT uid, tier FROM grants').all() as { uid: string; tier: Tier }[];
      return new Map(rows.map((r) => [r.uid, r.tier]));
    },

    grantCounts(): Record<Tier, number> {
      const counts: Record<Tier, number> = { public: 0, vpn: 0, 'vpn-bastion': 0 };
      for (const row of db.prepare('SELECT tier, COUNT(*) AS n FROM grants GROUP BY tier').all() as {
        tier: Tier;
        n: number;
      }[]) {
        counts[row.tier] = row.n;
      }
      return counts;
    },

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
      return rows.map((row) => {
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
      });
    },

    /**
     * One applying batch at a time (Terraform's state lock). A lock whose holder process is gone
     * from this host is taken over and the takeover is reported; a live holder refuses.
     */
    acquireLock(name: string, holder: string): LockHandle {
      return transaction(() => {
        const host = hostname();
        const existing = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as
          | { id: string; holder: string; pid: number; host: string; acquired_at: string }
          | undefined;
        let tookOverFrom: LockHandle['tookOverFrom'] = null;
        if (existing !== undefined) {
          if (existing.host !== host || processAlive(existing.pid)) {
            throw new AppError(
              'RAC_LOCKED',
              `another run holds the ${name} lock (id ${existing.id}, ${existing.holder}, pid ${existing.pid} on ${existing.host}, since ${existing.acquired_at})`,
              { details: { lock: existing.id } },
            );
          }
          tookOverFrom = {
            id: existing.id,
            holder: existing.holder,
            pid: existing.pid,
            acquiredAt: existing.acquired_at,
          };
          db.prepare('DELETE FROM locks WHERE name = ?').run(name);
          writeAudit({ action: 'lock.takeover', actor: holder, detail: { name, from: tookOverFrom } });
        }
        const id = randomBytes(6).toString('hex');
        db.prepare('INSERT INTO locks (name, id, holder, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?, ?)').run(
          name,
          id,
          holder,
          process.pid,
          host,
          now(),
        );
        return { id, tookOverFrom };
      });
    },

    releaseLock(name: string, id: string): void {
      db.prepare('DELETE FROM locks WHERE name = ? AND id = ?').run(name, id);
    },

    /** Stable VPN addresses of one gateway (core/openvpn/allocate-addresses decides them). */
    getAddresses(gateway: string): Map<string, { tier: 'vpn' | 'vpn-bastion'; address: string }> {
      const rows = db.prepare('SELECT uid, tier, address FROM gateway_addresses WHERE gateway = ?').all(gateway) as {
        uid: string;
        tier: 'vpn' | 'vpn-bastion';
        address: string;
      }[];
      return new Map(rows.map((r) => [r.uid, { tier: r.tier, address: r.address }]));
    },

    /**
     * Reads the gateway's addresses, lets `decide` allocate, and saves the result, all in one
     * write transaction: two writers (an apply and a revocation) never hand out one address twice.
     */
    allocateAddresses<
      T extends {
        assignments: ReadonlyMap<string, { tier: 'vpn' | 'vpn-bastion'; address: string }>;
        released: readonly string[];
      },
    >(gateway: string, decide: (current: Map<string, { tier: 'vpn' | 'vpn-bastion'; address: string }>) => T): T {
      return transaction(() => {
        const allocation = decide(store.getAddresses(gateway));
        writeAddresses(gateway, allocation.assignments, allocation.released);
        return allocation;
      });
    },

    saveAddresses(
      gateway: string,
      assignments: ReadonlyMap<string, { tier: 'vpn' | 'vpn-bastion'; address: string }>,
      released: readonly string[],
    ): void {
      transaction(() => writeAddresses(gateway, assignments, released));
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

    /** Marks people as seen connected now: first_seen once, last_seen every time. */
    recordSeen(uids: Iterable<string>, at: Date): void {
      const iso = at.toISOString();
      transaction(() => {
        const upsert = db.prepare(
          `INSERT INTO person_activity (uid, first_seen, last_seen) VALUES (?, ?, ?)
           ON CONFLICT(uid) DO UPDATE SET last_seen = excluded.last_seen`,
        );
        for (const uid of uids) upsert.run(uid, iso, iso);
      });
    },

    /** The onboarding funnel per tier, and each connected person's time to first connection. */
    funnel(now: Date): {
      stages: Record<Tier, { granted: number; connectedOnce: number; active24h: number; active7d: number }>;
      firstConnectionSeconds: number[];
    } {
      const since = new Date(now.getTime() - 24 * 3600 * 1000).toISOString();
      const weekAgo = new Date(now.getTime() - 7 * 24 * 3600 * 1000).toISOString();
      const stages: Record<Tier, { granted: number; connectedOnce: number; active24h: number; active7d: number }> = {
        public: { granted: 0, connectedOnce: 0, active24h: 0, active7d: 0 },
        vpn: { granted: 0, connectedOnce: 0, active24h: 0, active7d: 0 },
        'vpn-bastion': { granted: 0, connectedOnce: 0, active24h: 0, active7d: 0 },
      };
      const rows = db
        .prepare(
          `SELECT g.tier AS tier, g.granted_at AS granted_at, a.first_seen AS first_seen, a.last_seen AS last_seen
           FROM grants g LEFT JOIN person_activity a ON a.uid = g.uid`,
        )
        .all() as { tier: Tier; granted_at: string; first_seen: string | null; last_seen: string | null }[];
      const firstConnectionSeconds: number[] = [];
      for (const r of rows) {
        const s = stages[r.tier];
        s.granted++;
        if (r.first_seen !== null) {
          s.connectedOnce++;
          firstConnectionSeconds.push(Math.max(0, (Date.parse(r.first_seen) - Date.parse(r.granted_at)) / 1000));
        }
        if (r.last_seen !== null && r.last_seen >= since) s.active24h++;
        if (r.last_seen !== null && r.last_seen >= weekAgo) s.active7d++;
      }
      return { stages, firstConnectionSeconds };
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

    /** When this topology was first seen (recorded now if new). */
    topologySeen(digest: string, at: Date): string {
      db.prepare('INSERT OR IGNORE INTO topologies (digest, first_seen) VALUES (?, ?)').run(digest, at.toISOString());
      return (db.prepare('SELECT first_seen FROM topologies WHERE digest = ?').get(digest) as { first_seen: string })
        .first_seen;
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

    /**
     * The newest passing capacity check recorded for this topology that saw sessions, if any. A
     * dry run counts only when the config accepts dry runs (capacity.accept_dry_run).
     */
    latestPassingCheck(
      topology: string,
      options: { acceptDryRun?: boolean } = {},
    ): { sessions: number; at: string; dryRun: boolean } | null {
      const row = db
        .prepare(
          'SELECT verified_sessions, at, dry_run FROM capacity_checks WHERE topology = ? AND passed = 1 AND verified_sessions > 0 AND (dry_run = 0 OR ? = 1) ORDER BY at DESC LIMIT 1',
        )
        .get(topology, options.acceptDryRun === true ? 1 : 0) as
        | { verified_sessions: number; at: string; dry_run: number }
        | undefined;
      return row === undefined ? null : { sessions: row.verified_sessions, at: row.at, dryRun: row.dry_run === 1 };
    },

    /** Stores one capacity check result with its metadata, and audits it. */
    saveCapacityCheck(check: CapacityCheckRecord): void {
      transaction(() => {
        db.prepare(
          `INSERT INTO capacity_checks (id, at, topology, verified_sessions, passed, summary, dry_run, target_sessions,
             k6_version, duration_seconds, shape, scenarios, conditions, source, recorded_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          check.id,
          check.at,
          check.topology,
          check.peakSessions,
          check.passed ? 1 : 0,
          check.summary,
          check.dryRun ? 1 : 0,
          check.targetSessions,
          check.k6Version,
          check.durationSeconds,
          check.shape,
          JSON.stringify(check.scenarios),
          JSON.stringify(check.conditions),
          check.source,
          check.recordedBy,
        );
        writeAudit({
          action: 'capacity.check.recorded',
          actor: check.recordedBy,
          detail: {
            id: check.id,
            topology: check.topology,
            passed: check.passed,
            dryRun: check.dryRun,
            peakSessions: check.peakSessions,
            ...(check.dryRun ? { note: 'dry run: no load generated' } : {}),
          },
        });
      });
    },

    /** Recorded capacity checks, newest first, without the raw summaries. */
    listCapacityChecks(limit = 20): Array<Omit<CapacityCheckRecord, 'summary'> & { note?: string }> {
      return (
        db
          .prepare(
            `SELECT id, at, topology, verified_sessions, passed, dry_run, target_sessions, k6_version, duration_seconds,
               shape, scenarios, conditions, source, recorded_by FROM capacity_checks ORDER BY at DESC, rowid DESC LIMIT ?`,
          )
          .all(limit) as Array<Record<string, SQLInputValue>>
      ).map((r) => ({
        id: r['id'] as string,
        at: r['at'] as string,
        topology: r['topology'] as string,
        peakSessions: r['verified_sessions'] as number,
        passed: r['passed'] === 1,
        dryRun: r['dry_run'] === 1,
        targetSessions: (r['target_sessions'] as number | null) ?? null,
        k6Version: (r['k6_version'] as string | null) ?? null,
        durationSeconds: (r['duration_seconds'] as number | null) ?? null,
        shape: (r['shape'] as string | null) ?? null,
        scenarios: JSON.parse(r['scenarios'] as string) as Record<string, unknown>,
        conditions: JSON.parse(r['conditions'] as string) as unknown[],
        source: (r['source'] as string | null) ?? null,
        recordedBy: (r['recorded_by'] as string | null) ?? 'unknown',
        ...(r['dry_run'] === 1 ? { note: 'dry run: no load generated' } : {}),
      }));
    },
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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

function toGrant(row: unknown): GrantRecord {
  const r = row as Record<string, unknown>;
  return {
    uid: String(r['uid']),
    tier: r['tier'] as Tier,
    batchId: String(r['batch_id']),
    expires: (r['expires'] as string | null) ?? null,
    grantedAt: String(r['granted_at']),
    updatedAt: String(r['updated_at']),
  };
}
