/**
 * Running totals of what the audit log says happened — provisioning operations by system,
 * operation and result, and revocation latencies — fed only with records newer than the last
 * ones seen (a cursor), so the exporter's cost per cycle does not grow with the log.
 */
export interface AuditTally {
  /** Adds records (oldest first); returns the id to continue after. */
  add(rows: ReadonlyArray<{ id: number; action: string; detail: string }>): number;
  readonly cursor: number;
  operations(): Array<{ system: string; operation: string; result: string; count: number }>;
  /** Revocation latencies in seconds not yet handed to the histogram (taken once). */
  takeRevocations(): number[];
}

export function createAuditTally(): AuditTally {
  let cursor = 0;
  const counts = new Map<string, { system: string; operation: string; result: string; count: number }>();
  let revocations: number[] = [];
  const inc = (system: string, operation: string, result: string, n: number) => {
    const key = `${system}\0${operation}\0${result}`;
    const entry = counts.get(key) ?? { system, operation, result, count: 0 };
    entry.count += n;
    counts.set(key, entry);
  };
  const parse = (detail: string): Record<string, unknown> => {
    try {
      return JSON.parse(detail) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  return {
    get cursor() {
      return cursor;
    },
    add(rows) {
      for (const r of rows) {
        cursor = Math.max(cursor, r.id);
        if (r.action.startsWith('access.')) {
          const operation = r.action.slice('access.'.length);
          if (operation === 'failed') inc('ldap', 'change', 'failed', 1);
          else inc('ldap', operation, 'ok', 1);
        } else if (r.action === 'system.apply') {
          const d = parse(r.detail) as { system?: string; applied?: number; notApplied?: number };
          if (typeof d.system !== 'string') continue;
          inc(d.system, 'apply', 'ok', Number(d.applied ?? 0));
          inc(d.system, 'apply', 'not_applied', Number(d.notApplied ?? 0));
        } else if (r.action === 'directory.unusable') {
          // People whose own directory data a host could not use: failed alone, once per apply run.
          const bySystem = (parse(r.detail) as { bySystem?: Record<string, number> }).bySystem ?? {};
          for (const [system, n] of Object.entries(bySystem)) inc(system, 'apply', 'failed', Number(n));
        } else if (r.action === 'revoke.verified') {
          revocations.push(Number((parse(r.detail) as { latencyMs?: number }).latencyMs ?? 0) / 1000);
        }
      }
      return cursor;
    },
    operations: () => [...counts.values()],
    takeRevocations() {
      const out = revocations;
      revocations = [];
      return out;
    },
  };
}
