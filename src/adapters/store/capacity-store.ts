import type { SQLInputValue } from 'node:sqlite';
import type { CapacityCheckRecord, CapacityStore } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** Topologies first seen and the capacity checks recorded against them. */
export function createCapacityStore(ctx: StoreContext): CapacityStore {
  const { db, transaction, writeAudit } = ctx;
  const store: CapacityStore = {
    /** When this topology was first seen (recorded now if new). */
    topologySeen(digest: string, at: Date): string {
      db.prepare('INSERT OR IGNORE INTO topologies (digest, first_seen) VALUES (?, ?)').run(digest, at.toISOString());
      return (db.prepare('SELECT first_seen FROM topologies WHERE digest = ?').get(digest) as { first_seen: string })
        .first_seen;
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
