import type { Tier } from '../../core/tiers.ts';
import type { ActivityStore } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** When people were first and last seen connected: the onboarding funnel. */
export function createActivityStore(ctx: StoreContext): ActivityStore {
  const { db, transaction } = ctx;
  const store: ActivityStore = {
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
  };
  return store;
}
