import type { Tier } from '../../core/tiers.ts';
import type { GrantRecord, GrantStore } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** Current grants, the revocations that outrank running batches, and stable gateway addresses. */
export function createGrantStore(ctx: StoreContext): GrantStore {
  const { db, transaction, writeAudit, now } = ctx;
  const writeAddresses = (
    gateway: string,
    current: ReadonlyMap<string, { tier: 'vpn' | 'vpn-bastion'; address: string }>,
    assignments: ReadonlyMap<string, { tier: 'vpn' | 'vpn-bastion'; address: string }>,
    released: readonly string[],
  ) => {
    const at = now();
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

  const store: GrantStore = {
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
        const current = store.getAddresses(gateway);
        const allocation = decide(current);
        writeAddresses(gateway, current, allocation.assignments, allocation.released);
        return allocation;
      });
    },
  };
  return store;
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
